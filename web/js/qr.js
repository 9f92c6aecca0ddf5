// QR codes from an image file, the camera or a shared screen, read with jsQR (loaded as
// vendor/jsQR.js). jsQR finds one code per pass, so each code found is painted over and
// the image read again: a screenshot of a multi-code export gives every code.
const MAX_CODES = 20;

function decoder() {
  if (typeof globalThis.jsQR !== "function") throw new Error("the QR reader did not load");
  return globalThis.jsQR;
}

// Every QR text in the RGBA ImageData.
export function readImageData(image) {
  const jsQR = decoder();
  const data = new Uint8ClampedArray(image.data);
  const texts = [];
  for (let n = 0; n < MAX_CODES; n++) {
    const code = jsQR(data, image.width, image.height, { inversionAttempts: "attemptBoth" });
    if (!code || !code.data) break;
    texts.push(code.data);
    blank(data, image.width, image.height, code.location);
  }
  return texts;
}

function blank(data, width, height, loc) {
  const pts = [loc.topLeftCorner, loc.topRightCorner, loc.bottomRightCorner,
    loc.bottomLeftCorner];
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const pad = Math.max(8, (Math.max(...xs) - Math.min(...xs)) / 8);
  const x0 = Math.max(0, Math.floor(Math.min(...xs) - pad));
  const x1 = Math.min(width, Math.ceil(Math.max(...xs) + pad));
  const y0 = Math.max(0, Math.floor(Math.min(...ys) - pad));
  const y1 = Math.min(height, Math.ceil(Math.max(...ys) + pad));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * width + x) * 4;
      data[i] = data[i + 1] = data[i + 2] = 255;
    }
  }
}

function canvasFor(w, h) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  return c;
}

export async function readFile(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (err) {
    throw new Error(`${file.name}: not an image this browser can read`);
  }
  // Very large photos are scaled down: QR codes stay readable and jsQR stays quick.
  const scale = Math.min(1, 2000 / Math.max(bitmap.width, bitmap.height));
  const c = canvasFor(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.drawImage(bitmap, 0, 0, c.width, c.height);
  return readImageData(ctx.getImageData(0, 0, c.width, c.height));
}

// Reads frames of a media stream until a code shows or `signal` aborts; stops the stream.
export async function scanStream(stream, video, signal) {
  video.srcObject = stream;
  await video.play();
  const c = canvasFor(1, 1);
  const ctx = c.getContext("2d", { willReadFrequently: true });
  try {
    while (!signal.aborted) {
      if (video.videoWidth) {
        c.width = video.videoWidth;
        c.height = video.videoHeight;
        ctx.drawImage(video, 0, 0);
        const texts = readImageData(ctx.getImageData(0, 0, c.width, c.height));
        if (texts.length) return texts;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return [];
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}
