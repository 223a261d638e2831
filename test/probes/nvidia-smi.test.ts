import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.ts';
import { importNvidiaSmi, probeImportKinds } from '../../hw-probes/import-kinds.ts';
import { parseNvidiaSmiCsv, parseSmiCell, smiRowToSample, smiTimestampMs, SmiCsvReader } from '../../hw-probes/nvidia-smi/parse.ts';

// Each fixture starts with the "### source:" line of /work/shared/fixtures/smi-and-sse.txt it
// was cut from (repository, file, commit); the H100/RTX captures also keep the capture tool's
// "# $ nvidia-smi ..." annotation line. Both are '#' lines the CSV reader skips.
const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '../fixtures', name), 'utf8');

describe('nvidia-smi CSV cells', () => {
  it('reads values with and without units and keeps placeholders as missing, never 0', () => {
    expect(parseSmiCell('631.95 W')).toEqual({ kind: 'number', value: 631.95, unit: 'W' });
    expect(parseSmiCell('100 %')).toEqual({ kind: 'number', value: 100, unit: '%' });
    expect(parseSmiCell('28.16')).toEqual({ kind: 'number', value: 28.16 });
    expect(parseSmiCell('[N/A]')).toEqual({ kind: 'missing', reason: 'N/A' });
    expect(parseSmiCell('N/A')).toEqual({ kind: 'missing', reason: 'N/A' });
    expect(parseSmiCell('[Not Supported]')).toEqual({ kind: 'missing', reason: 'Not Supported' });
    expect(parseSmiCell('[Requested functionality has been deprecated]')).toEqual({ kind: 'missing', reason: 'Requested functionality has been deprecated' });
    expect(parseSmiCell('')).toEqual({ kind: 'missing', reason: 'empty' });
    expect(parseSmiCell('P0')).toEqual({ kind: 'text', value: 'P0' });
  });
});

describe('nvidia-smi fixtures', () => {
  it('Tesla P100, nounits: power.draw only, fan [N/A]', () => {
    const csv = parseNvidiaSmiCsv(fixture('probes-nvidia-smi-p100.txt'), 'p100');
    expect(csv.columns.map((c) => c.field).slice(0, 4)).toEqual(['name', 'uuid', 'fan.speed', 'pstate']);
    expect(csv.columns.find((c) => c.field === 'power.draw')).toEqual({ field: 'power.draw', unit: 'W' });
    expect(csv.rows).toHaveLength(1);
    const row = csv.rows[0]!;
    expect(row.line).toBe(3);
    expect(row.cells['fan.speed']).toEqual({ kind: 'missing', reason: 'N/A' });
    const s = smiRowToSample(row, 0);
    expect(s.gpus).toEqual([{ index: 0, name: 'Tesla P100-PCIE-16GB', loadPct: 0, memoryLoadPct: 0, mhz: 405, memoryUsedMb: 0, temperatureC: 37 }]);
    expect(s.rails).toEqual([{ name: 'GPU0', powerMw: 28160 }]);
  });

  it('H100 full query: instant power used, average kept apart, deprecated cells missing', () => {
    const csv = parseNvidiaSmiCsv(fixture('probes-nvidia-smi-h100.txt'), 'h100');
    expect(csv.columns).toHaveLength(212);
    const row = csv.rows[0]!;
    expect(row.cells['power.draw']).toEqual({ kind: 'number', value: 631.95, unit: 'W' });
    expect(row.cells['display_mode']).toEqual({ kind: 'missing', reason: 'Requested functionality has been deprecated' });
    const s = smiRowToSample(row, 5);
    expect(s.deviceTime).toBe('2026/07/14 08:12:53.353');
    expect(s.rails).toEqual([{ name: 'GPU0', powerMw: 625680, toolAverageMw: 631950 }]);
    expect(s.gpus).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', loadPct: 100, memoryLoadPct: 11, mhz: 1980, memoryUsedMb: 19818, memoryTotalMb: 81559, temperatureC: 59 },
    ]);
  });

  it('RTX 4080 SUPER: consumer GPU with [N/A] ECC/MIG fields', () => {
    const s = importNvidiaSmi(fixture('probes-nvidia-smi-rtx4080.txt'), 'rtx').samples[0]!;
    expect(s.rails).toEqual([{ name: 'GPU0', powerMw: 86410, toolAverageMw: 84240 }]);
    expect(s.gpus![0]).toMatchObject({ name: 'NVIDIA GeForce RTX 4080 SUPER', loadPct: 7, memoryLoadPct: 2, mhz: 2805, memoryUsedMb: 1474, temperatureC: 46 });
  });

  it('summarises for bench import, saying which power column it used', () => {
    const kind = probeImportKinds.find((k) => k.kind === 'nvidia-smi')!;
    const h100 = kind.summarize(kind.parse(fixture('probes-nvidia-smi-h100.txt'), 'h100'));
    expect(h100).toContain('nvidia-smi CSV: 1 rows, 212 columns');
    expect(h100).toContain('power from power.draw.instant (power.draw.average kept separately, not integrated)');
    expect(h100).toContain('GPU0: min 625.68  mean 625.68  max 625.68  (n=1)');
    const p100 = kind.summarize(kind.parse(fixture('probes-nvidia-smi-p100.txt'), 'p100'));
    expect(p100).toContain('power from power.draw: a 1 s average on Ampere and newer GPUs');
    const apps = kind.summarize(kind.parse(fixture('probes-nvidia-smi-h100-apps.txt'), 'apps'));
    expect(apps).toContain('nvidia-smi CSV: 3 rows, 8 columns');
    expect(apps).toContain('no GPU power/utilisation columns');
  });
});

describe('nvidia-smi -lms stream and errors', () => {
  const header = 'timestamp, index, name, power.draw [W], power.draw.average [W], power.draw.instant [W], utilization.gpu [%]';

  it('reads rows as they arrive, skips a repeated header, integrates timestamps', () => {
    const reader = new SmiCsvReader('live');
    expect(reader.push(header, 1)).toBeNull();
    const a = reader.push('2026/07/14 08:12:53.353, 0, H100, 631.95, 631.95, 625.68, 100', 2)!;
    expect(reader.push(header, 3)).toBeNull();
    const b = reader.push('2026/07/14 08:12:53.453, 0, H100, 640.00, 633.00, [N/A], 99', 4)!;
    expect(smiRowToSample(a, 0).rails![0]!.powerMw).toBe(625680);
    // No instant reading in this row: power.draw is the fallback, and the row says so.
    expect(smiRowToSample(b, 100).rails![0]!.powerMw).toBe(640000);
    expect(smiTimestampMs('2026/07/14 08:12:53.453')! - smiTimestampMs('2026/07/14 08:12:53.353')!).toBe(100);
  });

  it('rejects a row whose cell count does not match the header, naming the line', () => {
    const text = `${header}\n2026/07/14 08:12:53.353, 0, H100, 631.95\n`;
    expect(() => parseNvidiaSmiCsv(text, 'smi.csv')).toThrow(ParseError);
    expect(() => parseNvidiaSmiCsv(text, 'smi.csv')).toThrow('smi.csv:2: nvidia-smi CSV row has 4 cells, the header has 7');
    expect(() => parseNvidiaSmiCsv('', 'empty.csv')).toThrow(/empty\.csv: no nvidia-smi CSV header found/);
    expect(() => parseNvidiaSmiCsv('Failed to initialize NVML: Driver/library version mismatch', 'x')).toThrow(/x:1: nvidia-smi CSV header: column 1/);
  });
});
