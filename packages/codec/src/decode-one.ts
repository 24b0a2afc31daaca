/** Convenience for tests and tools: decode one packet into plain objects. */
import { RecordBatch } from './batch';
import { CodecConfig, makeConfig } from './config';
import { Decoder, LayerSpan } from './decoder';
import { materialize } from './materialize';
import type { IntRecord, Rejection } from './model';
import { REJECT_NAMES } from './reasons';

export interface DecodeOneResult {
  records: IntRecord[];
  rejection: Rejection | null;
  layers: LayerSpan[];
}

export function decodeOne(
  data: Uint8Array,
  linkType = 1,
  config: CodecConfig | Decoder = makeConfig(),
  frame = 1,
  tsSec = 0,
  tsNsec = 0,
): DecodeOneResult {
  const decoder = config instanceof Decoder ? config : new Decoder(config);
  const batch = new RecordBatch(4, 8);
  decoder.trace = [];
  const n = decoder.decode(data, linkType, tsSec, tsNsec, frame, batch);
  const layers = decoder.trace;
  decoder.trace = null;
  const records: IntRecord[] = [];
  for (let i = 0; i < batch.count; i++) records.push(materialize(batch, i));
  return {
    records,
    rejection: n < 0 ? { frame, rejected: REJECT_NAMES[-n], detail: decoder.lastDetail } : null,
    layers,
  };
}
