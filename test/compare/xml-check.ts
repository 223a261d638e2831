/**
 * A strict little XML reader for tests (no XML parser is installed): it accepts only
 * well-formed documents (one root, balanced and properly nested tags, quoted attributes,
 * known entities, no stray "<" or "&") and returns the element tree.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = '[A-Za-z_][\\w.-]*';
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(raw: string, where: string): string {
  if (/&/.test(raw.replace(ENTITY, ''))) throw new Error(`unescaped & in ${where}`);
  return raw
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export function parseXml(doc: string): XmlElement {
  let pos = 0;
  const decl = /^<\?xml[^?]*\?>\s*/.exec(doc);
  if (decl) pos = decl[0].length;
  const tag = new RegExp(`<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"<]*")*)\\s*(/?)>`, 'y');
  const attrRe = new RegExp(`(${NAME})\\s*=\\s*"([^"<]*)"`, 'g');
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  while (pos < doc.length) {
    const lt = doc.indexOf('<', pos);
    const text = doc.slice(pos, lt === -1 ? doc.length : lt);
    if (text.trim()) {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`text outside the root element at ${pos}`);
      top.text += decode(text, `text at ${pos}`);
    }
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(doc);
    if (!m) throw new Error(`malformed tag at ${lt}: ${doc.slice(lt, lt + 60)}`);
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name!}> closes <${open?.name ?? 'nothing'}> at ${lt}`);
    } else {
      const attrs: Record<string, string> = {};
      for (const a of attrText!.matchAll(attrRe)) {
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]!} at ${lt}`);
        attrs[a[1]!] = decode(a[2]!, `attribute ${a[1]!} at ${lt}`);
      }
      const el: XmlElement = { name: name!, attrs, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) throw new Error(`second root element <${name!}> at ${lt}`);
      else root = el;
      if (!selfClose) stack.push(el);
    }
    pos = tag.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => findAll(c, name))];
}
