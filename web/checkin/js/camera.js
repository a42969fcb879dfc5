// The device camera as a stream of decoded QR texts: the browser's BarcodeDetector where it
// reads QR codes, otherwise jsQR (vendor/jsqr, Apache-2.0) on frames drawn to a canvas.

export async function decoderName() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) return "BarcodeDetector";
    } catch (exc) {
      // fall through to jsQR
    }
  }
  return "jsQR";
}

export class Camera {
  constructor(video, onCode) {
    this.video = video;
    this.onCode = onCode;
    this.stream = null;
    this.timer = null;
    this.canvas = document.createElement("canvas");
    this.busy = false;
  }

  async start() {
    this.decoder = await decoderName();
    if (this.decoder === "BarcodeDetector") {
      this.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    this.timer = setInterval(() => this.tick(), 150);
    return this.decoder;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }

  async tick() {
    if (this.busy || this.video.readyState < 2) return;
    this.busy = true;
    try {
      const text = await this.decode();
      if (text) await this.onCode(text);
    } finally {
      this.busy = false;
    }
  }

  async decode() {
    if (this.detector) {
      const found = await this.detector.detect(this.video);
      return found.length ? found[0].rawValue : null;
    }
    const width = this.video.videoWidth;
    const height = this.video.videoHeight;
    if (!width || !height) return null;
    this.canvas.width = width;
    this.canvas.height = height;
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(this.video, 0, 0, width, height);
    const image = ctx.getImageData(0, 0, width, height);
    const found = window.jsQR(image.data, width, height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }
}
