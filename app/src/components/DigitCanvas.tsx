// Draw a digit: the drawing becomes the model's 64 pixel values through the shared conversion
// (verifier-gen/src/digits.ts: size-normalised 32x32 bitmap, 4x4 blocks counted), shown as the 8x8 image the
// model will read. Keyboard users load a held-out sample instead, or type the values in the JSON box.
import { useCallback, useEffect, useRef, useState } from "react";
import { digitPixels, MAX_PIXEL } from "../../../verifier-gen/src/digits.js";

const SIZE = 224;
const BRUSH = 18;

export function DigitCanvas({ onPixels }: { onPixels: (pixels: number[] | null) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const last = useRef<[number, number] | null>(null);
  const [pixels, setPixels] = useState<number[] | null>(null);

  const update = useCallback(() => {
    const c = canvas.current;
    const ctx = c?.getContext("2d", { willReadFrequently: true });
    if (!c || !ctx) return;
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    const ink = new Float32Array(c.width * c.height);
    for (let i = 0; i < ink.length; i++) ink[i] = data[i * 4 + 3]! / 255;
    const p = digitPixels(ink, c.width, c.height);
    const empty = p.every((v) => v === 0);
    setPixels(empty ? null : p);
    onPixels(empty ? null : p);
  }, [onPixels]);

  const point = (e: React.PointerEvent<HTMLCanvasElement>): [number, number] => {
    const r = e.currentTarget.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * SIZE, ((e.clientY - r.top) / r.height) * SIZE];
  };
  const stroke = (to: [number, number]) => {
    const ctx = canvas.current?.getContext("2d");
    if (!ctx) return;
    ctx.strokeStyle = "#000";
    ctx.fillStyle = "#000";
    ctx.lineWidth = BRUSH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const from = last.current ?? to;
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    last.current = to;
  };
  const clear = () => {
    const c = canvas.current;
    c?.getContext("2d")?.clearRect(0, 0, c.width, c.height);
    update();
  };
  useEffect(() => onPixels(null), [onPixels]);

  return (
    <div className="digit">
      <div className="digit-draw">
        <canvas
          ref={canvas}
          width={SIZE}
          height={SIZE}
          className="digit-canvas"
          data-testid="digit-canvas"
          role="img"
          aria-label="drawing area for a digit: draw with the mouse, a pen or a finger"
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            drawing.current = true;
            last.current = null;
            stroke(point(e));
          }}
          onPointerMove={(e) => drawing.current && stroke(point(e))}
          onPointerUp={() => {
            drawing.current = false;
            update();
          }}
          onPointerCancel={() => {
            drawing.current = false;
            update();
          }}
        />
        <button type="button" onClick={clear}>
          Clear
        </button>
      </div>
      <figure className="digit-preview">
        <div className="grid8" aria-hidden="true">
          {(pixels ?? new Array<number>(64).fill(0)).map((v, i) => (
            <span key={i} style={{ opacity: 0.08 + (0.92 * v) / MAX_PIXEL }} />
          ))}
        </div>
        <figcaption>
          What the model reads: 8 × 8 values 0–16{" "}
          <span className="sr-only" data-testid="digit-values">
            {pixels === null ? "empty" : pixels.join(",")}
          </span>
        </figcaption>
      </figure>
    </div>
  );
}

/** An 8x8 image of pixel values 0..16 (a request's input, shown on its status page). */
export function DigitImage({ values, label }: { values: number[]; label: string }) {
  return (
    <div className="grid8 small" role="img" aria-label={label}>
      {values.map((v, i) => (
        <span key={i} style={{ opacity: 0.08 + (0.92 * Math.min(v, MAX_PIXEL)) / MAX_PIXEL }} />
      ))}
    </div>
  );
}
