import { describe, expect, it } from 'vitest';
import { caption, messages } from '../../tasks/core/caption.js';
import type { Evaluation } from '../../tasks/core/evaluation.js';
import type { ForecastDoc } from '../../tasks/core/forecast.js';

const evaluation = { day: '2024-03-30', status: 'scored', reason: '', smape: 0.5, mae: 1, rmse: 2, mase: 0.5, pinball: 0.4, coverage80: 0.9, actual_total: 41, forecast_total: 38.6, naive_smape: 0.7, naive_mae: 1.5, naive_rmse: 2.5 } as Evaluation;
const today = { day: '2024-03-31', total: 41.4, total_range: [35, 60], peak: { local: '20:00', mean: 5 } } as unknown as ForecastDoc;
const options = { title: 'Чат', day: '2024-03-30', zone: 'Europe/Berlin', evaluation, today };

describe('the caption', () => {
  it("quotes today's 80% range of messages with the noun agreeing with its last number, and the mean", () => {
    expect(caption({ ...options, language: 'ru' })).toContain('Сегодня (2024-03-31): ожидается 35–60 сообщений (в среднем 41), пик около 20:00.');
    expect(caption({ ...options, language: 'ru', today: { ...today, total_range: [1, 2] } as ForecastDoc })).toContain('ожидается 1–2 сообщения (в среднем 41)');
    expect(caption({ ...options, language: 'en' })).toContain('Today (2024-03-31): 35–60 messages expected (41 on average), busiest around 20:00.');
  });

  it('says a single number when the range has one, and copes with a forecast from before ranges', () => {
    expect(caption({ ...options, language: 'ru', today: { ...today, total: 0, total_range: [0, 0] } as ForecastDoc })).toContain('ожидается 0 сообщений, пик');
    expect(caption({ ...options, language: 'ru', today: { ...today, total: 21, total_range: null } as ForecastDoc })).toContain('ожидается 21 сообщение, пик');
  });

  it('agrees the Russian noun with the number', () => {
    expect([0, 1, 2, 5, 11, 21, 22, 25, 101, 111].map(messages)).toEqual([
      '0 сообщений',
      '1 сообщение',
      '2 сообщения',
      '5 сообщений',
      '11 сообщений',
      '21 сообщение',
      '22 сообщения',
      '25 сообщений',
      '101 сообщение',
      '111 сообщений',
    ]);
  });
});
