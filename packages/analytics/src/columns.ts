/**
 * Per-slot typed-array columns in checkpoints: the values of a list of table slots, packed in
 * that order and written as base64 (JSON-safe, exact), and unpacked back into other slots.
 */

export type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array;
type ColumnClass<T extends Column> = {
  new (n: number): T;
  new (b: ArrayBuffer): T;
  BYTES_PER_ELEMENT: number;
};

/** `src`'s values at `slots` (`stride` values per slot), in slot-list order, as base64. */
export function packColumn(src: Column, slots: readonly number[], stride = 1): string {
  const C = src.constructor as ColumnClass<Column>;
  const out = new C(slots.length * stride);
  for (let i = 0; i < slots.length; i++)
    for (let k = 0; k < stride; k++) out[i * stride + k] = src[slots[i] * stride + k];
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64');
}

/** Decodes a packed column of `n` entries of `stride` values; a wrong length is an error. */
export function unpackColumn<T extends Column>(
  s: string,
  C: ColumnClass<T>,
  n: number,
  stride = 1,
  what = 'column',
): T {
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== n * stride * C.BYTES_PER_ELEMENT)
    throw new Error(
      `analyzer checkpoint: ${what} holds ${buf.length} bytes, expected ${n * stride * C.BYTES_PER_ELEMENT}`,
    );
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return new C(ab);
}

/** Writes a packed column into `dst` at `slots` (entry i → slots[i]), adding `shift` (times). */
export function restoreColumn<T extends Column>(
  dst: T,
  s: string,
  C: ColumnClass<T>,
  slots: readonly number[],
  what: string,
  shift = 0,
): void {
  const src = unpackColumn(s, C, slots.length, 1, what);
  for (let i = 0; i < slots.length; i++) dst[slots[i]] = src[i] + shift;
}
