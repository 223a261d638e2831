/**
 * Parsers for the static facts of a Jetson: L4T release, nvpmodel power mode, board model.
 * Each returns null (or an empty object) for text it does not recognise, because a missing
 * fact is reported as missing, not guessed.
 */

/** `/etc/nv_tegra_release`: "# R35 (release), REVISION: 4.1, GCID: ..., BOARD: t186ref, ..." */
export function parseNvTegraRelease(text: string): { l4t: string; board?: string; date?: string } | null {
  const m = /#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  const out: { l4t: string; board?: string; date?: string } = { l4t: `${m[1]}.${m[2]}${m[3] !== undefined ? `.${m[3]}` : ''}` };
  const board = /BOARD:\s*([^,\s]+)/.exec(text);
  if (board) out.board = board[1]!;
  const date = /DATE:\s*([^\n]+)/.exec(text);
  if (date) out.date = date[1]!.trim();
  return out;
}

/**
 * `nvpmodel -q`: "NV Power Mode: MAXN" then the mode id on the next line; older and newer
 * versions may print "NVPM WARN" lines first, and some print "NV Power Mode: 15W (ID: 0)".
 */
export function parseNvpmodelQuery(text: string): { mode: string; id?: number } | null {
  const m = /NV Power Mode:\s*([^\n(]+?)\s*(?:\(ID:\s*(\d+)\))?\s*$/m.exec(text);
  if (!m) return null;
  const out: { mode: string; id?: number } = { mode: m[1]! };
  if (m[2] !== undefined) out.id = Number(m[2]);
  else {
    const after = text.slice(m.index + m[0].length);
    const id = /^\s*(\d+)\s*$/m.exec(after);
    if (id) out.id = Number(id[1]);
  }
  return out;
}

/** `/proc/device-tree/model` is NUL-terminated. */
export function parseDeviceTreeModel(text: string): string | null {
  const model = text.replace(/\0/g, '').trim();
  return model || null;
}
