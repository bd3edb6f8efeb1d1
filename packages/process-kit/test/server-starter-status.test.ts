import { describe, expect, it } from 'vitest';
import { formatStatusFile, parseStatusFile } from '../src/server-starter-status.js';

describe('Server::Starter status file', () => {
  it('formats gen:pid lines sorted by generation as numbers', () => {
    expect(formatStatusFile([{ generation: 10, pid: 5 }, { generation: 9, pid: 7 }])).toBe('9:7\n10:5\n');
    expect(formatStatusFile([])).toBe('');
  });

  it('parses what it formats, Perl files, and ignores anything else', () => {
    const lines = [{ generation: 2, pid: 300 }, { generation: 11, pid: 12 }];
    expect(parseStatusFile(formatStatusFile(lines))).toEqual(lines);
    expect(parseStatusFile('11:12\r\n2:300\n\njunk\n3:x\n:4\n')).toEqual(lines);
    expect(parseStatusFile('')).toEqual([]);
  });
});
