export * from './types';
export * from './pcap-replay';
export * from './udp';
export * from './allowlist';
export * from './live';
export * from './capture-identity';
