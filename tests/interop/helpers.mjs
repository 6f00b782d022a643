// Helpers for the sm-crypto interop tests: running the ecert CLI, and a tiny
// strict DER reader for the GM/T 0009 SM2Cipher structure, written here so that
// the check does not depend on either implementation under test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ECERT_BIN = process.env.ECERT_BIN;

// Runs `ecert ...args` with `input` (Buffer or string) on stdin.
// Returns { status, stdout: Buffer, stderr: string }.
export function ecert(args, input = '') {
  if (!ECERT_BIN) throw new Error('ECERT_BIN is not set (path of the built ecert)');
  const r = spawnSync(ECERT_BIN, args, { input, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

// Like ecert() but requires exit 0 and an empty stderr; returns stdout.
export function ecertOk(args, input = '') {
  const r = ecert(args, input);
  if (r.status !== 0 || r.stderr !== '') {
    throw new Error(`ecert ${args[0]} ${args[1] ?? ''}: exit ${r.status}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

// Text output of a command that prints one line.
export function ecertLine(args, input = '') {
  const out = ecertOk(args, input).toString('utf8');
  if (!out.endsWith('\n') || out.indexOf('\n') !== out.length - 1) {
    throw new Error(`ecert ${args.join(' ')}: want exactly one line, got ${JSON.stringify(out)}`);
  }
  return out.slice(0, -1);
}

// A private temp directory for key files, removed at exit.
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ecert-interop-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let keyFileSeq = 0;
// Writes a key to a 0600 file and returns the CLI's "@path" form.
export function keyFile(dir, text) {
  const path = join(dir, `key${keyFileSeq++}`);
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return `@${path}`;
}

// ---- strict DER reader (X.690), only what SM2Cipher needs -----------------

// Reads one TLV at `off` within buf[0, end). Definite lengths only, minimal
// length encoding required (what a conforming DER writer produces).
function readTLV(buf, off, end) {
  if (off + 2 > end) throw new Error(`DER: truncated header at ${off}`);
  const tag = buf[off];
  let len = buf[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error(`DER: bad length form at ${off}`);
    if (p + n > end) throw new Error(`DER: truncated length at ${off}`);
    if (buf[p] === 0) throw new Error(`DER: length with a leading zero at ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    if (len < 0x80) throw new Error(`DER: long form for a short length at ${off}`);
    p += n;
  }
  if (p + len > end) throw new Error(`DER: value overruns its container at ${off}`);
  return { tag, start: p, end: p + len };
}

// A positive INTEGER of at most 32 significant bytes, minimally encoded,
// returned left-padded to 32 bytes.
function uint256(buf, tlv) {
  let v = buf.subarray(tlv.start, tlv.end);
  if (tlv.tag !== 0x02) throw new Error('DER: expected INTEGER');
  if (v.length === 0) throw new Error('DER: empty INTEGER');
  if (v[0] & 0x80) throw new Error('DER: negative INTEGER');
  if (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) throw new Error('DER: non-minimal INTEGER');
  if (v[0] === 0 && v.length > 1) v = v.subarray(1);
  if (v.length > 32) throw new Error('DER: INTEGER wider than 256 bits');
  const out = Buffer.alloc(32);
  v.copy(out, 32 - v.length);
  return out;
}

// GM/T 0009 SM2Cipher ::= SEQUENCE { XCoordinate INTEGER, YCoordinate INTEGER,
// HASH OCTET STRING (32), CipherText OCTET STRING } -> C1C3C2 hex without 04,
// the form sm-crypto's doDecrypt(…, cipherMode 1) takes.
export function sm2CipherDerToHex(der) {
  const seq = readTLV(der, 0, der.length);
  if (seq.tag !== 0x30) throw new Error('DER: expected SEQUENCE');
  if (seq.end !== der.length) throw new Error('DER: bytes after the SEQUENCE');
  const x = readTLV(der, seq.start, seq.end);
  const y = readTLV(der, x.end, seq.end);
  const c3 = readTLV(der, y.end, seq.end);
  const c2 = readTLV(der, c3.end, seq.end);
  if (c2.end !== seq.end) throw new Error('DER: extra fields in SM2Cipher');
  if (c3.tag !== 0x04 || c3.end - c3.start !== 32) throw new Error('DER: HASH is not a 32-byte OCTET STRING');
  if (c2.tag !== 0x04) throw new Error('DER: CipherText is not an OCTET STRING');
  return Buffer.concat([
    uint256(der, x),
    uint256(der, y),
    der.subarray(c3.start, c3.end),
    der.subarray(c2.start, c2.end),
  ]).toString('hex');
}
