/** Checks one value against its schema entry; every refusal is an SmtpError thrown at once. */
import { ErrorCode, SmtpError } from "../errors.js";
import { assertNoLineBreak, validateOtherHeaders } from "../message/header-block.js";
import type { ScalarSpec, SettingValue } from "./spec-types.js";

export function validateValue(spec: ScalarSpec, value: unknown, label = spec.name): SettingValue {
  switch (spec.type) {
    case "string": {
      if (typeof value !== "string") throw invalid(label, value, "a string");
      if (spec.check === "singleLine") assertNoLineBreak(label, value);
      const stored = spec.normalize ? spec.normalize(value) : value;
      if (spec.choices && !spec.choices.includes(stored)) throw invalid(label, value, `one of ${spec.choices.join(", ")}`);
      else if (spec.check === "headerBlock" && stored !== "") validateOtherHeaders(stored);
      return stored;
    }
    case "bool":
      if (typeof value !== "boolean") throw invalid(label, value, "true or false");
      return value;
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value) || value < spec.min || value > spec.max) {
        throw invalid(label, value, `an integer from ${spec.min} to ${spec.max}`);
      }
      return value;
    case "enum":
      if (typeof value !== "number" || !Number.isInteger(value) || ((value < 0 || value >= spec.values.length) && spec.extra?.[value] === undefined)) {
        const extra = Object.entries(spec.extra ?? {}).map(([k, v]) => `${k} ${v}`);
        const names = [...spec.values.map((v, i) => `${i} ${v}`), ...extra].join(", ");
        throw invalid(label, value, `one of ${names}`);
      }
      return value;
  }
}

/** Parses the text form config("Name=Value") gives into the setting's type. */
export function parseSettingText(spec: ScalarSpec, text: string): SettingValue {
  switch (spec.type) {
    case "string":
      return validateValue(spec, text);
    case "bool": {
      const t = text.trim().toLowerCase();
      if (t === "true" || t === "1" || t === "yes" || t === "on") return true;
      if (t === "false" || t === "0" || t === "no" || t === "off") return false;
      throw invalid(spec.name, text, "true or false");
    }
    case "int":
    case "enum": {
      const t = text.trim();
      if (!/^-?\d+$/.test(t)) throw invalid(spec.name, text, "an integer");
      return validateValue(spec, Number(t));
    }
  }
}

function invalid(label: string, value: unknown, expected: string): SmtpError {
  const shown = typeof value === "string" ? JSON.stringify(value.length > 60 ? value.slice(0, 60) + "..." : value) : String(value);
  return new SmtpError(ErrorCode.InvalidValue, `${label} must be ${expected}; got ${shown}`);
}
