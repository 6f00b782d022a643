// Interop: the ecert CLI against npm sm-crypto (JuneAndGreen/sm-crypto), the
// SM2 library most Chinese web front ends use. Proves the SPEC §3.3 wire
// forms and the SM2-SM3 signature (user ID 1234567812345678) against code we
// did not write. Run: ECERT_BIN=path/to/ecert node --test (CTest does this).
//
// What sm-crypto 0.5.8 takes and gives (read from its source):
//   doEncrypt(msg, pub, mode)  -> hex of C1||C3||C2 (mode 1) or C1||C2||C3
//                                 (mode 0), C1 WITHOUT the 04; empty msg allowed
//   doDecrypt(hex, priv, mode) -> reads the first 128 hex digits as x||y: a
//                                 leading 04 must be stripped by the caller;
//                                 failure returns '' / [] (like an empty plaintext)
//   doSignature(msg, priv, {hash: true, der, userId}) -> hex DER or hex r||s
//   doVerifySignature(…, {der: true}) decodes DER strictly (minimal INTEGERs)
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import smCrypto from 'sm-crypto';

import { ecert, ecertOk, ecertLine, keyFile, sm2CipherDerToHex, tempDir } from './helpers.mjs';

const { sm2 } = smCrypto;
// sm-crypto (jsbn) takes ~0.1 s per SM2 operation: a few dozen random
// iterations per direction keep the whole file well under 30 s.
const ITER = 8;
const dir = tempDir();

const ecertKeygen = () => JSON.parse(ecertLine(['sm2', 'keygen']));
// Key pairs reused across messages; the key tests below make fresh ones.
const smKeys = Array.from({ length: 3 }, () => sm2.generateKeyPairHex());
const ecKeys = Array.from({ length: 3 }, () => ecertKeygen());
let pick = 0;
const anyKey = () => (pick++ % 2 ? smKeys : ecKeys)[pick % 3];
const hexOfB64 = (b64) => Buffer.from(b64, 'base64').toString('hex');
const toArray = (buf) => Array.from(buf);
// sm-crypto decryption as bytes (doDecrypt's 'array' output).
const smDecrypt = (hex, priv, mode = 1) => Buffer.from(sm2.doDecrypt(hex, priv, mode, { output: 'array' }));

// Private keys alternate between the command line and a key file (the
// documented safe form), so that both paths carry real keys.
let flip = 0;
const keyArg = (priv) => (flip++ % 2 ? priv : keyFile(dir, priv));

const CHINESE = '长三角电子证照共享应用规范：上海、江苏、浙江、安徽。🇨🇳';
const fixedMessages = () => [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from('a')],
  ['31 bytes', randomBytes(31)],
  ['32 bytes (one KDF block)', randomBytes(32)],
  ['33 bytes', randomBytes(33)],
  ['UTF-8 Chinese', Buffer.from(CHINESE, 'utf8')],
  ['1 KiB', randomBytes(1024)],
  ['100 KiB', randomBytes(100 * 1024)],
];
const randomMessages = (n, max = 600) =>
  Array.from({ length: n }, (_, i) => [`random #${i}`, randomBytes(randomInt(0, max + 1))]);

// ecert text ciphertext in `fmt` -> what sm-crypto's doDecrypt(…, 1) takes.
function toSmCryptoHex(fmt, text) {
  switch (fmt) {
    case 'hex':
      assert.match(text, /^[0-9a-f]+$/);
      return text;
    case 'hex04':
      assert.match(text, /^04[0-9a-f]+$/);
      return text.slice(2);
    case 'base64': {
      const raw = Buffer.from(text, 'base64');
      assert.equal(raw.toString('base64'), text, 'canonical base64');
      assert.equal(raw[0], 0x04, 'base64 form carries the 04 point prefix');
      return raw.subarray(1).toString('hex');
    }
    case 'der': {
      const der = Buffer.from(text, 'base64');
      assert.equal(der.toString('base64'), text, 'canonical base64');
      return sm2CipherDerToHex(der);
    }
    default:
      throw new Error(fmt);
  }
}

// ---------------------------------------------------------------------------
test('sm-crypto ciphertexts, C1C3C2 (mode 1) and C1C2C3 (mode 0), decrypt in ecert', () => {
  for (const [name, msg] of [...fixedMessages(), ...randomMessages(ITER)]) {
    const { privateKey, publicKey } = anyKey();
    for (const mode of [1, 0]) {
      const ct = sm2.doEncrypt(toArray(msg), publicKey, mode);
      assert.equal(ct.length, 2 * (96 + msg.length), `${name}: sm-crypto ciphertext length`);
      const plain = ecertOk(['sm2', 'decrypt', '--key', keyArg(privateKey)], ct);
      assert.deepEqual(plain, msg, `${name}, mode ${mode}`);
    }
  }
});

test('sm-crypto string input (UTF-8) and the usual re-wrappings of its output decrypt in ecert', () => {
  const { privateKey, publicKey } = sm2.generateKeyPairHex();
  const want = Buffer.from(CHINESE, 'utf8');
  const ct = sm2.doEncrypt(CHINESE, publicKey, 1);
  const forms = {
    'as is + newline': `${ct}\n`,
    'with 04 (hex04)': `04${ct}`,
    uppercase: ct.toUpperCase(),
    'base64 of the bytes with 04': Buffer.from(`04${ct}`, 'hex').toString('base64'),
    'base64 of the hex text': Buffer.from(ct).toString('base64'),
  };
  for (const [name, text] of Object.entries(forms)) {
    const plain = ecertOk(['sm2', 'decrypt', '--key', privateKey], text);
    assert.deepEqual(plain, want, name);
  }
  const legacy = sm2.doEncrypt(CHINESE, publicKey, 0);
  assert.deepEqual(ecertOk(['sm2', 'decrypt', '--key', privateKey], `04${legacy}`), want, 'C1C2C3 with 04');
});

test('ecert ciphertexts in every --format decrypt in sm-crypto', () => {
  for (const [name, msg] of [...fixedMessages(), ...randomMessages(ITER / 2)]) {
    const { privateKey, publicKey } = anyKey();
    for (const fmt of ['hex', 'hex04', 'base64', 'der']) {
      const text = ecertLine(['sm2', 'encrypt', '--pub', publicKey, '--format', fmt], msg);
      const hex = toSmCryptoHex(fmt, text);
      assert.equal(hex.length, 2 * (96 + msg.length), `${name} ${fmt}: C1C3C2 length`);
      // An empty plaintext and a failure look alike in sm-crypto ([]); the
      // length check above and ecert's own round trip cover that case.
      assert.deepEqual(smDecrypt(hex, privateKey), msg, `${name} --format ${fmt}`);
      assert.deepEqual(ecertOk(['sm2', 'decrypt', '--key', privateKey], text), msg, `${name} ${fmt} round trip`);
    }
  }
});

test('probe: sm-crypto 0.5.8 does not strip a leading 04 itself (why hex04 is converted)', () => {
  const { privateKey, publicKey } = ecertKeygen();
  const msg = Buffer.from('probe');
  const text = ecertLine(['sm2', 'encrypt', '--pub', publicKey, '--format', 'hex04'], msg);
  assert.deepEqual(smDecrypt(text, privateKey), Buffer.alloc(0));
  assert.deepEqual(smDecrypt(text.slice(2), privateKey), msg);
});

// ---------------------------------------------------------------------------
test('sm-crypto signatures (DER and raw r||s, default user ID) verify in ecert', () => {
  for (const [name, msg] of [...randomMessages(ITER, 2000), ['UTF-8 Chinese', Buffer.from(CHINESE)]]) {
    const { privateKey, publicKey } = anyKey();
    const der = sm2.doSignature(toArray(msg), privateKey, { hash: true, der: true, publicKey });
    const raw = sm2.doSignature(toArray(msg), privateKey, { hash: true, der: false, publicKey });
    assert.match(raw, /^[0-9a-f]{128}$/);
    const forms = { 'DER hex': der, 'DER base64': Buffer.from(der, 'hex').toString('base64'), 'raw hex': raw };
    for (const [form, sig] of Object.entries(forms)) {
      const ok = ecert(['sm2', 'verify', '--pub', publicKey, '--sig', sig], msg);
      assert.equal(ok.status, 0, `${name} ${form}: ${ok.stderr}`);
      assert.equal(ok.stdout.toString(), 'valid\n');
      const bad = ecert(['sm2', 'verify', '--pub', publicKey, '--sig', sig], Buffer.concat([msg, Buffer.from('x')]));
      assert.equal(bad.status, 1, `${name} ${form}: tampered message must be invalid (exit 1): ${bad.stderr}`);
    }
  }
  // the string form of sm-crypto (UTF-8) signs the same bytes
  const { privateKey, publicKey } = anyKey();
  const sig = sm2.doSignature(CHINESE, privateKey, { hash: true, der: true });
  assert.equal(ecert(['sm2', 'verify', '--pub', publicKey, '--sig', sig], CHINESE).status, 0);
});

test('ecert signatures (base64 DER and --raw) verify in sm-crypto', () => {
  for (const [name, msg] of [...randomMessages(ITER, 2000), ['empty', Buffer.alloc(0)]]) {
    const { privateKey, publicKey } = anyKey();
    const b64 = ecertLine(['sm2', 'sign', '--key', keyArg(privateKey)], msg);
    assert.match(b64, /^[A-Za-z0-9+/]+=*$/);
    const der = hexOfB64(b64);
    const raw = ecertLine(['sm2', 'sign', '--key', keyArg(privateKey), '--raw'], msg);
    assert.match(raw, /^[0-9a-f]{128}$/);
    const m = toArray(msg);
    assert.equal(sm2.doVerifySignature(m, der, publicKey, { hash: true, der: true }), true, `${name}: DER`);
    assert.equal(sm2.doVerifySignature(m, raw, publicKey, { hash: true, der: false }), true, `${name}: raw`);
    const t = [...m, 0x78];
    assert.equal(sm2.doVerifySignature(t, der, publicKey, { hash: true, der: true }), false, `${name}: tampered DER`);
    assert.equal(sm2.doVerifySignature(t, raw, publicKey, { hash: true, der: false }), false, `${name}: tampered raw`);
  }
});

test('custom user IDs work both ways, and a different ID fails both ways', () => {
  const msg = Buffer.from('appId\n1764345600123\nc9a1f0e27b4d4e8f\nencryptData', 'utf8');
  for (const userId of ['alice@example.cn', 'node:YRD-SH', '用户甲', 'x', '']) {
    const { privateKey, publicKey } = anyKey();
    // sm-crypto -> ecert
    const smSig = sm2.doSignature(toArray(msg), privateKey, { hash: true, der: true, userId });
    assert.equal(ecert(['sm2', 'verify', '--pub', publicKey, '--sig', smSig, '--id', userId], msg).status, 0,
      `sm-crypto userId ${JSON.stringify(userId)} -> ecert --id`);
    assert.equal(ecert(['sm2', 'verify', '--pub', publicKey, '--sig', smSig], msg).status, 1,
      `sm-crypto userId ${JSON.stringify(userId)} -> ecert default ID must fail`);
    // ecert -> sm-crypto
    const der = hexOfB64(ecertLine(['sm2', 'sign', '--key', privateKey, '--id', userId], msg));
    const raw = ecertLine(['sm2', 'sign', '--key', privateKey, '--id', userId, '--raw'], msg);
    assert.equal(sm2.doVerifySignature(toArray(msg), der, publicKey, { hash: true, der: true, userId }), true,
      `ecert --id ${JSON.stringify(userId)} -> sm-crypto (DER)`);
    assert.equal(sm2.doVerifySignature(toArray(msg), raw, publicKey, { hash: true, der: false, userId }), true,
      `ecert --id ${JSON.stringify(userId)} -> sm-crypto (raw)`);
    assert.equal(sm2.doVerifySignature(toArray(msg), der, publicKey, { hash: true, der: true }), false,
      `ecert --id ${JSON.stringify(userId)} -> sm-crypto default ID must fail`);
  }
});

// ---------------------------------------------------------------------------
test('sm-crypto key pairs work in ecert', () => {
  for (let i = 0; i < ITER; i++) {
    const { privateKey, publicKey } = sm2.generateKeyPairHex();
    const msg = randomBytes(randomInt(1, 200));
    // ecert derives the same public point from the private key: its signature
    // verifies under sm-crypto's public key.
    const der = hexOfB64(ecertLine(['sm2', 'sign', '--key', keyArg(privateKey)], msg));
    assert.equal(sm2.doVerifySignature(toArray(msg), der, publicKey, { hash: true, der: true }), true);
    // the public key in both accepted spellings (130 hex with 04, 128 without)
    for (const pub of [publicKey, publicKey.slice(2)]) {
      const ct = ecertLine(['sm2', 'encrypt', '--pub', pub], msg);
      assert.deepEqual(smDecrypt(ct, privateKey), msg);
    }
  }
});

test('ecert keygen key pairs work in sm-crypto', () => {
  for (let i = 0; i < ITER; i++) {
    const { privateKey, publicKey } = ecertKeygen();
    assert.match(privateKey, /^[0-9a-f]{64}$/);
    assert.match(publicKey, /^04[0-9a-f]{128}$/);
    assert.equal(sm2.verifyPublicKey(publicKey), true, 'public key on the curve');
    assert.equal(sm2.getPublicKeyFromPrivateKey(privateKey), publicKey, 'public key = d·G');
    const msg = randomBytes(randomInt(1, 200));
    const ct = sm2.doEncrypt(toArray(msg), publicKey, 1);
    assert.deepEqual(ecertOk(['sm2', 'decrypt', '--key', keyArg(privateKey)], ct), msg);
    const sig = sm2.doSignature(toArray(msg), privateKey, { hash: true, der: true });
    assert.equal(ecert(['sm2', 'verify', '--pub', publicKey, '--sig', sig], msg).status, 0);
  }
});

test('a ciphertext for another key fails in ecert with exit 2 and one stderr line', () => {
  const a = smKeys[0];
  const b = ecKeys[0];
  const ct = sm2.doEncrypt('for a only', a.publicKey, 1);
  const r = ecert(['sm2', 'decrypt', '--key', b.privateKey], ct);
  assert.equal(r.status, 2);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /^ecert: [^\n]+\n$/);
});
