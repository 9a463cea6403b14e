import type { Evaluation } from './evaluation.js';
import type { ForecastDoc } from './forecast.js';

// The channel post's words: yesterday against its forecast, the score, today's expectation.
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
  if (options.language === 'en') {
    return [
      `📊 ${title} — ${day} (${zone})`,
      e.status === 'scored'
        ? `Yesterday: ${e.actual_total} messages, forecast ${Math.round(e.forecast_total!)}.`
        : `Yesterday: ${e.actual_total} messages (no forecast was made for it).`,
      ...(e.status === 'scored' ? [`Forecast error: sMAPE ${e.smape!.toFixed(2)}, MAE ${e.mae!.toFixed(2)}, RMSE ${e.rmse!.toFixed(2)}.`] : []),
      `Today (${today.day}): about ${expected} messages, busiest around ${today.peak.local}.`,
      ...(options.trackerUrl ? [`Metrics: ${options.trackerUrl}`] : []),
    ].join('\n');
  }
  return [
    `📊 ${title} — ${day} (${zone})`,
    e.status === 'scored'
      ? `Вчера: ${messages(e.actual_total)}, прогноз был ${Math.round(e.forecast_total!)}.`
      : `Вчера: ${messages(e.actual_total)} (прогноза на этот день не было).`,
    ...(e.status === 'scored' ? [`Ошибка прогноза: sMAPE ${e.smape!.toFixed(2)}, MAE ${e.mae!.toFixed(2)}, RMSE ${e.rmse!.toFixed(2)}.`] : []),
    `Сегодня (${today.day}): ожидается около ${messages(expected)}, пик около ${today.peak.local}.`,
    ...(options.trackerUrl ? [`Метрики: ${options.trackerUrl}`] : []),
  ].join('\n');
}

const RU_FORMS: Record<string, string> = { one: 'сообщение', few: 'сообщения', many: 'сообщений', other: 'сообщения' };
const ruPlural = new Intl.PluralRules('ru');

// "1 сообщение", "3 сообщения", "11 сообщений": Russian agrees the noun with the number.
export function messages(count: number): string {
  return `${count} ${RU_FORMS[ruPlural.select(count)]}`;
}
