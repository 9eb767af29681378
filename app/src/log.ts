// The page's logger for the shared client (pino's browser build: to the console, warnings and errors only).
import { pino } from "pino";

export const appLog = pino({ level: "warn", browser: { asObject: false } });
