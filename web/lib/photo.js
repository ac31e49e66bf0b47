// Photos taken on the phone, made small enough to queue and send: drawn onto a canvas at most
// `maxSide` pixels on the long side and re-encoded as JPEG, which also drops the EXIF block (the
// camera's position, its serial number) — only the pixels leave the phone. The orientation the
// camera recorded is applied first, so a portrait photo stays upright.

/** A `data:image/jpeg;base64,…` URL of the image file, resized and re-encoded. */
export async function photoDataUrl(file, { maxSide = 1600, quality = 0.8 } = {}) {
  const image = await decode(file);
  const w = image.width, h = image.height;
  if (!w || !h) throw new Error('无法读取图片');
  const scale = Math.min(1, maxSide / Math.max(w, h));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // a transparent PNG would turn black in a JPEG
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  if (image.close) image.close();
  return canvas.toDataURL('image/jpeg', quality);
}

async function decode(file) {
  if (globalThis.createImageBitmap) {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch { /* fall back to an <img> (older Safari) */ }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}
