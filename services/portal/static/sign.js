// Enhancement: sign the protocol in this browser (WebCrypto Ed25519) with the person's key
// file, read locally; only the public key and the signature are put into the form.
(() => {
  const box = document.querySelector("[data-webcrypto]");
  const form = document.getElementById("sign-form");
  if (!box || !form || !window.crypto || !crypto.subtle) return;
  box.hidden = false;
  const status = box.querySelector("[data-sign-status]");
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
  const fromUrl = (s) => atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  box.querySelector("[data-sign]").addEventListener("click", async () => {
    try {
      const file = box.querySelector("input[type=file]").files[0];
      if (!file) throw new Error(status.dataset.nofile || "no key file chosen");
      const pem = await file.text();
      const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
      const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
      const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
      const jwk = await crypto.subtle.exportKey("jwk", key);
      const signing = new TextEncoder().encode(form.elements.message.value);
      const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, signing);
      form.elements.public_key.value = btoa(fromUrl(jwk.x));
      form.elements.signature.value = b64(signature);
      status.textContent = "✓";
    } catch (error) {
      status.textContent = String(error.message || error);
    }
  });
})();
