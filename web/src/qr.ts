// A short link's QR code, drawn on a canvas. This module is its own chunk, imported only once a
// link has been made, so the encoder is not part of the first load.
import { toCanvas } from "qrcode";

export function drawQrCode(canvas: HTMLCanvasElement, text: string): Promise<void> {
  return toCanvas(canvas, text, { width: 192, margin: 2, errorCorrectionLevel: "M" });
}
