// Ticket codes as openevent.checkin.codes writes them, read and verified in the browser:
// "OE" + base32( format 1 | key id | varint event | varint attendee | varint ticket |
// varint version | Ed25519 signature (64 bytes) ), the signature over
// "openevent-ticket:" + every byte before it. Verification uses WebCrypto's Ed25519 and the
// event's public keys alone, so a scanner checks a ticket with the network down.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DOMAIN = new TextEncoder().encode("openevent-ticket:");
const SIGNATURE_BYTES = 64;

export class BadCode extends Error {}

function base32(text) {
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const index = ALPHABET.indexOf(ch);
    if (index < 0) throw new BadCode("not a ticket code");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

function varint(bytes, at) {
  let value = 0n;
  let shift = 0n;
  for (let n = 0; n < 10; n++) {
    if (at + n >= bytes.length) throw new BadCode("truncated code");
    const byte = bytes[at + n];
    value |= BigInt(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      if (n && byte === 0) throw new BadCode("non-canonical number");
      return [value, at + n + 1];
    }
    shift += 7n;
  }
  throw new BadCode("number too long");
}

// The claim of a code, unverified: {keyId, eventId, attendeeId, ticketId, version, body, signature}
export function parse(code) {
  const text = String(code || "").trim().toUpperCase();
  if (!text.startsWith("OE") || text.length > 200) throw new BadCode("not a ticket code");
  const raw = base32(text.slice(2));
  if (raw.length < 2 + 4 + SIGNATURE_BYTES || raw[0] !== 1) throw new BadCode("not a ticket code");
  const body = raw.slice(0, raw.length - SIGNATURE_BYTES);
  const signature = raw.slice(raw.length - SIGNATURE_BYTES);
  const numbers = [];
  let at = 2;
  for (let i = 0; i < 4; i++) {
    const [value, next] = varint(body, at);
    numbers.push(value);
    at = next;
  }
  if (at !== body.length) throw new BadCode("trailing bytes");
  return {
    keyId: body[1], eventId: String(numbers[0]), attendeeId: String(numbers[1]),
    ticketId: String(numbers[2]), version: Number(numbers[3]), body, signature,
  };
}

function fromBase64Url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// keys: [{id, "public-key", revoked}] as /v1/checkin/events/<id>/keys gives them
export async function importKeys(keys) {
  const out = new Map();
  for (const key of keys) {
    if (key.revoked) continue;
    out.set(Number(key.id), await crypto.subtle.importKey(
      "raw", fromBase64Url(key["public-key"]), { name: "Ed25519" }, false, ["verify"]));
  }
  return out;
}

// The claim when the signature checks with a key of `keys` (from importKeys); else BadCode.
export async function verify(code, keys) {
  const claim = parse(code);
  const key = keys.get(claim.keyId);
  if (!key) throw new BadCode("unknown or revoked signing key");
  const signed = new Uint8Array(DOMAIN.length + claim.body.length);
  signed.set(DOMAIN);
  signed.set(claim.body, DOMAIN.length);
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, claim.signature, signed);
  if (!ok) throw new BadCode("bad signature");
  return claim;
}
