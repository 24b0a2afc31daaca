export { LinkType, type KnownLinkType } from './link-type';
export { CaptureFormatError } from './errors';
export type { CaptureFormat, CaptureReader, OpenOptions, PacketRecord } from './types';
export { openCapture, readCaptureBuffer } from './open';
export { PcapReader } from './pcap-reader';
export { PcapngReader, type PcapngInterface } from './pcapng-reader';
export { PcapWriter, type PcapWriterOptions } from './pcap-writer';
export {
  PcapngWriter,
  type PcapngInterfaceOptions,
  type PcapngWriterOptions,
} from './pcapng-writer';
export type { CaptureWriter } from './buffered-writer';
export { FdSink, FileSink, MemorySink, type BufferSink, type ByteSink } from './sink';
export { BackgroundFileSink } from './background-sink';
export { MAX_RECORD_BYTES } from './limits';
export {
  checkOutputs,
  commitTemp,
  OutputFileError,
  sameFile,
  tempPathFor,
  writeViaTemp,
  type NamedPath,
} from './output-file';
