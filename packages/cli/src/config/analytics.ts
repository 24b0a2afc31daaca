/** The 'analytics' section: detector thresholds and state bounds (docs/anomalies.md). */
import { DEFAULT_CONFIG, type AnalyticsConfig } from '@hopwatch/analytics';
import { checkKeys, wrongType, type Section } from './check';

export type AnalyticsSettings = Partial<AnalyticsConfig>;

/** Every number of the analyzer's configuration (the callback is not a setting). */
export const ANALYTICS_KEYS: readonly string[] = Object.keys(DEFAULT_CONFIG).filter(
  (k) => typeof (DEFAULT_CONFIG as unknown as Section)[k] === 'number',
);

/** Only what the file sets: the analyzer fills the rest from its own DEFAULT_CONFIG. */
export const ANALYTICS_DEFAULTS: Readonly<AnalyticsSettings> = Object.freeze({});

const COUNT_KEY = /^max|Bits$|Samples$|TopK$/;

export function analyticsConfig(s: Section): AnalyticsSettings {
  checkKeys('analytics', s, ANALYTICS_KEYS);
  const out: Section = {};
  for (const [k, v] of Object.entries(s)) {
    // table sizes, sketch widths and sample counts size allocations: whole and non-zero
    if (COUNT_KEY.test(k)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
        throw wrongType(`analytics.${k}`, 'an integer >= 1', v);
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw wrongType(`analytics.${k}`, 'a number >= 0', v);
    out[k] = v;
  }
  return out as AnalyticsSettings;
}
