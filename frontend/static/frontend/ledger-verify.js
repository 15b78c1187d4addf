// In-browser verification of a log entry (docs/dashboard.md, "Verify"):
// RFC 9162 leaf hash and inclusion proof, C2SP signed-note checkpoint with its
// Ed25519 signature and witness cosignatures, all with WebCrypto; the server
// only supplies data.
(function () {
  "use strict";
  const panel = document.getElementById("verifier");
  if (!panel) return;
  const stepsList = document.getElementById("verify-steps");
  const verdict = document.getElementById("verify-verdict");
  const indexInput = document.getElementById("verify-index");
  const encoder = new TextEncoder();
  const witnessVkeys = JSON.parse(document.getElementById("witness-vkeys").textContent);

  class VerifyError extends Error {}

  const b64decode = (text) => Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
  const b64encode = (bytes) => btoa(String.fromCharCode(...bytes));
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) { out.set(part, offset); offset += part.length; }
    return out;
  };
  const equal = (a, b) => a.length === b.length && a.every((value, i) => value === b[i]);
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  function step(text, ok = true) {
    const item = document.createElement("li");
    item.className = ok ? "pass" : "fail";
    item.textContent = text;
    stepsList.appendChild(item);
  }

  function check(condition, message) {
    if (!condition) throw new VerifyError(message);
  }

  async function fetchOk(url, as) {
    const response = await fetch(url, { credentials: "same-origin" });
    check(response.ok, `${url} answered ${response.status}`);
    return as === "json" ? response.json() : response.text();
  }

  const NOTE_KEY = 0x01, COSIGNATURE_KEY = 0x04;

  // vkey "<name>+<key id hex>+<base64(type || 32-byte key)>"
  async function parseVkey(vkey, type = NOTE_KEY) {
    // Names never hold "+", base64 may: split at the first two only.
    const [, name, keyIdHex, keyB64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey.trim()) || [];
    check(keyB64, `malformed verifier key ${vkey.trim()}`);
    const typed = b64decode(keyB64);
    check(typed.length === 33 && typed[0] === type, `${name} is not an Ed25519 key of type ${type}`);
    const expectedId = (await sha256(concat(encoder.encode(name + "\n"), typed))).slice(0, 4);
    check(hex(expectedId) === keyIdHex, "the verifier key's id does not match its name and key");
    return { name, keyId: expectedId, publicKey: typed.slice(1) };
  }

  // Checkpoint note: "<origin>\n<size>\n<root b64>\n" "\n" then "— <name> <b64(keyid||sig)>" lines.
  function parseCheckpoint(note) {
    const split = note.indexOf("\n\n");
    check(split > 0, "the checkpoint is not a signed note");
    const text = note.slice(0, split + 1);
    const [origin, size, root] = text.split("\n");
    check(/^[0-9]+$/.test(size), "the checkpoint's size is not a number");
    const signatures = note.slice(split + 2).split("\n").filter(Boolean).map((line) => {
      const [dash, name, sig] = line.split(" ");
      check(dash === "\u2014" && name && sig, "malformed signature line");
      return { name, bytes: b64decode(sig) };
    });
    return { text, origin, size: Number(size), root: b64decode(root), signatures };
  }

  async function ed25519Verify(publicKey, signature, message) {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }

  // C2SP tlog-cosignature: key id || 8-byte big-endian time || Ed25519 over
  // "cosignature/v1\ntime <t>\n" followed by the checkpoint text.
  async function verifyWitnesses(checkpoint, vkeys) {
    const known = new Set();
    for (const vkey of vkeys) {
      const witness = await parseVkey(vkey, COSIGNATURE_KEY);
      known.add(witness.name);
      const cosignature = checkpoint.signatures.find(
        (s) => s.name === witness.name && s.bytes.length === 76 && equal(s.bytes.slice(0, 4), witness.keyId));
      if (!cosignature) {
        step(`Witness ${witness.name}: no cosignature on this checkpoint yet`);
        continue;
      }
      const time = new DataView(cosignature.bytes.buffer, cosignature.bytes.byteOffset + 4, 8).getBigUint64(0);
      const message = encoder.encode(`cosignature/v1\ntime ${time}\n${checkpoint.text}`);
      const valid = await ed25519Verify(witness.publicKey, cosignature.bytes.slice(12), message);
      check(valid, `witness ${witness.name}'s cosignature does not verify`);
      step(`Witness ${witness.name} cosigned it at ${new Date(Number(time) * 1000).toISOString()}: its Ed25519 cosignature verifies`);
    }
    return known;
  }

  // RFC 9162 section 2.1.3.2: the root an inclusion proof leads to.
  async function rootFromProof(index, size, leaf, proof) {
    check(index < size, `index ${index} is not below the tree size ${size}`);
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      check(sn !== 0, "the proof is longer than the tree is deep");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    check(sn === 0, "the proof is shorter than the tree is deep");
    return r;
  }

  async function verify(index) {
    stepsList.replaceChildren();
    verdict.className = "";
    verdict.textContent = `Verifying entry ${index}…`;
    try {
      const entryUrl = panel.dataset.entryUrl.replace(/0$/, String(index));
      const entry = await fetchOk(entryUrl, "json");
      const data = b64decode(entry.data);
      const leaf = await sha256(concat(Uint8Array.of(0), data));
      step(`Entry ${index} (${entry.kind}): ${data.length} bytes; leaf hash SHA-256(0x00 || bytes) = ${b64encode(leaf)}`);
      const payload = new TextDecoder().decode(data).split(".")[1];
      if (payload) step(`Signed content: ${atob(payload.replace(/-/g, "+").replace(/_/g, "/"))}`);

      const key = await parseVkey(await fetchOk(panel.dataset.vkeyUrl));
      step(`Log key ${key.name}, key id ${hex(key.keyId)} = first 4 bytes of SHA-256(name || 0x0A || 0x01 || key)`);

      const checkpoint = parseCheckpoint(await fetchOk(panel.dataset.checkpointUrl));
      check(checkpoint.origin === key.name, `the checkpoint is from ${checkpoint.origin}, not ${key.name}`);
      step(`Checkpoint: origin ${checkpoint.origin}, size ${checkpoint.size}, root ${b64encode(checkpoint.root)}`);

      const signature = checkpoint.signatures.find(
        (s) => s.name === key.name && s.bytes.length === 68 && equal(s.bytes.slice(0, 4), key.keyId));
      check(signature, "the checkpoint carries no signature by the log key");
      const signed = await ed25519Verify(key.publicKey, signature.bytes.slice(4), encoder.encode(checkpoint.text));
      check(signed, "the checkpoint's Ed25519 signature does not verify");
      step("Checkpoint signature verifies (Ed25519 over the note text)");
      const witnesses = await verifyWitnesses(checkpoint, witnessVkeys);
      const others = checkpoint.signatures.filter((s) => s !== signature && !witnesses.has(s.name));
      if (others.length) step(`Also signed by keys this page does not know: ${others.map((s) => s.name).join(", ")}`);

      const proofUrl = `${panel.dataset.proofUrl}?index=${index}&size=${checkpoint.size}`;
      const proof = (await fetchOk(proofUrl, "json")).proof.map(b64decode);
      step(`Inclusion proof: ${proof.length} hashes for index ${index} in a tree of ${checkpoint.size}`);
      const root = await rootFromProof(index, checkpoint.size, leaf, proof);
      check(equal(root, checkpoint.root), `the proof leads to root ${b64encode(root)}, not the checkpoint's`);
      step(`The proof leads to the checkpoint's root ${b64encode(root)}`);
      verdict.className = "verdict pass";
      verdict.textContent = `Verified: entry ${index} is in the log signed by ${key.name} at size ${checkpoint.size}.`;
    } catch (error) {
      step(error.message, false);
      verdict.className = "verdict fail";
      verdict.textContent = error instanceof VerifyError
        ? `Verification failed: ${error.message}`
        : `Verification could not run: ${error.message}`;
    }
  }

  function start(index) {
    indexInput.value = index;
    if (/^[0-9]+$/.test(String(index))) verify(Number(index));
    else { stepsList.replaceChildren(); verdict.className = "verdict fail"; verdict.textContent = "Enter an entry index (0, 1, 2 …)."; }
  }

  document.getElementById("verify-form").addEventListener("submit", (event) => {
    event.preventDefault();
    start(indexInput.value.trim());
  });
  for (const button of document.querySelectorAll("button.verify-entry")) {
    button.addEventListener("click", () => { start(button.dataset.index); panel.scrollIntoView(); });
  }
  if (indexInput.value) start(indexInput.value);
})();
