// Small pieces the pages share: a hash with its full value on hover and a copy button, alerts, gas.
import type { ReactNode } from "react";
import { shortAddress } from "../format.js";

export function Hash({ value, label }: { value: string; label?: string }) {
  const shown =
    value.length === 42 ? shortAddress(value) : value.length > 20 ? `${value.slice(0, 10)}…${value.slice(-6)}` : value;
  return (
    <span className="hash">
      <code title={value} aria-label={`${label ?? "value"} ${value}`}>
        {shown}
      </code>
      <button
        type="button"
        className="copy"
        aria-label={`copy ${label ?? "value"}`}
        onClick={() => void navigator.clipboard?.writeText(value)}
      >
        copy
      </button>
    </span>
  );
}

/** A message the user must see: errors are announced at once (role=alert), notices politely. */
export function Alert({
  kind,
  children,
  testId,
}: {
  kind: "error" | "ok" | "info";
  children: ReactNode;
  testId?: string;
}) {
  return (
    <div className={`alert alert-${kind}`} role={kind === "error" ? "alert" : "status"} data-testid={testId}>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}
