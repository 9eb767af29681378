// Formatting for the page: amounts, gas, times, addresses.
import { formatUnits } from "ethers";
import type { PaymentToken } from "./chain.js";

export const gas = (g: bigint | number): string => Number(g).toLocaleString("en-US");

export function amount(wei: bigint, token: Pick<PaymentToken, "symbol" | "decimals">): string {
  const s = formatUnits(wei, token.decimals);
  return `${s.endsWith(".0") ? s.slice(0, -2) : s} ${token.symbol}`;
}

export const shortAddress = (a: string): string => (a.length === 42 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a);

/** "in 9 min 58 s" / "12 s ago" for a deadline `seconds` away (negative: past). */
export function countdown(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  const text =
    s >= 3600
      ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
      : s >= 60
        ? `${Math.floor(s / 60)} min ${s % 60} s`
        : `${s} s`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

export const time = (unix: number): string => new Date(unix * 1000).toLocaleTimeString("en-GB");

/** The message of an error for a person: its own short message (ethers' reason when it has one). */
export function message(error: unknown): string {
  const e = error as { shortMessage?: string; reason?: string; message?: string };
  return e?.reason ?? e?.shortMessage ?? e?.message ?? String(error);
}
