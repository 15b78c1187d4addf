// In-browser verification of a log entry (docs/dashboard.md, "Verify"):
// RFC 9162 leaf hash and inclusion proof, C2SP signed-note checkpoint and its
// Ed25519 signature, all with WebCrypto; the server only supplies data.
(function () {
  "use strict";
  const panel = document.getElementById("verifier");
  if (!panel) return;
  const stepsList = document.getElementById("verify-steps");
  const verdict = document.getElementById("verify-verdict");
  const indexInput = document.getElementById("verify-index");
  const encoder = new TextEncoder();

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

  // vkey "<name>+<key id hex>+<base64(0x01 || 32-byte key)>"
  async function parseVkey(vkey) {
    const [name, keyIdHex, keyB64] = vkey.trim().split("+");
    const typed = b64decode(keyB64);
    check(typed.length === 33 && typed[0] === 1, "the verifier key is not an Ed25519 note key");
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
      const publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
      const signed = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature.bytes.slice(4), encoder.encode(checkpoint.text));
      check(signed, "the checkpoint's Ed25519 signature does not verify");
      step("Checkpoint signature verifies (Ed25519 over the note text)");
      const others = checkpoint.signatures.filter((s) => s !== signature).map((s) => s.name);
      if (others.length) step(`Also cosigned by: ${others.join(", ")}`);

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
