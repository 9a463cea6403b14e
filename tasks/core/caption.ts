import type { Evaluation } from './evaluation.js';
import type { ForecastDoc } from './forecast.js';

const f2 = (v: number) => v.toFixed(2);

// The channel post's words: yesterday against its forecast, the score against the naive forecast,
// today's 80% range of messages and its expected total, and the tracker link when there is one.
export function caption(options: {
  title: string;
  day: string;
  zone: string;
  language: 'ru' | 'en';
  evaluation: Evaluation;
  today: ForecastDoc;
  trackerUrl?: string;
}): string {
  const { title, day, zone, evaluation: e, today } = options;
  const expected = Math.round(today.total);
  const [lo, hi] = (today.total_range ?? [today.total, today.total]).map((v) => Math.round(v));
  const scored = e.status === 'scored';
  const naive = e.naive_mae !== null;
  if (options.language === 'en') {
    return [
      `📊 ${title} — ${day} (${zone})`,
      scored
        ? `Yesterday: ${e.actual_total} messages, forecast ${Math.round(e.forecast_total!)}.`
        : `Yesterday: ${e.actual_total} messages (no forecast was made for it).`,
      ...(scored
        ? [
            naive
              ? `Error: MAE ${f2(e.mae!)} vs ${f2(e.naive_mae!)} for "same hour yesterday" (sMAPE ${f2(e.smape!)} vs ${f2(e.naive_smape!)}).`
              : `Error: MAE ${f2(e.mae!)}, sMAPE ${f2(e.smape!)}, RMSE ${f2(e.rmse!)}.`,
          ]
        : []),
      Array.isArray(today.hours) && today.hours.length === 0
        ? `Today (${today.day}) does not exist in ${zone}: the clocks skip it.`
        : lo === hi
        ? `Today (${today.day}): ${lo} messages expected, busiest around ${today.peak.local}.`
        : `Today (${today.day}): ${lo}–${hi} messages expected (${expected} on average), busiest around ${today.peak.local}.`,
      ...(options.trackerUrl ? [`Metrics: ${options.trackerUrl}`] : []),
    ].join('\n');
  }
  return [
    `📊 ${title} — ${day} (${zone})`,
    scored
      ? `Вчера: ${messages(e.actual_total)}, прогноз был ${Math.round(e.forecast_total!)}.`
      : `Вчера: ${messages(e.actual_total)} (прогноза на этот день не было).`,
    ...(scored
      ? [
          naive
            ? `Ошибка: MAE ${f2(e.mae!)} против ${f2(e.naive_mae!)} у прогноза «как вчера» (sMAPE ${f2(e.smape!)} против ${f2(e.naive_smape!)}).`
            : `Ошибка: MAE ${f2(e.mae!)}, sMAPE ${f2(e.smape!)}, RMSE ${f2(e.rmse!)}.`,
        ]
      : []),
    Array.isArray(today.hours) && today.hours.length === 0
      ? `Сегодня (${today.day}) в ${zone} не наступит: часы перевели через этот день.`
      : lo === hi
      ? `Сегодня (${today.day}): ожидается ${messages(lo)}, пик около ${today.peak.local}.`
      : `Сегодня (${today.day}): ожидается ${lo}–${messages(hi)} (в среднем ${expected}), пик около ${today.peak.local}.`,
    ...(options.trackerUrl ? [`Метрики: ${options.trackerUrl}`] : []),
  ].join('\n');
}

const RU_FORMS: Record<string, string> = { one: 'сообщение', few: 'сообщения', many: 'сообщений', other: 'сообщения' };
const ruPlural = new Intl.PluralRules('ru');

// "1 сообщение", "3 сообщения", "11 сообщений": Russian agrees the noun with the number (in a
// range, with its last number: "35–60 сообщений").
export function messages(count: number): string {
  return `${count} ${RU_FORMS[ruPlural.select(count)]}`;
}
