// cyclr_xml_serialize / cyclr_xml_deserialize with the runtime's XML conventions (fast-xml-parser):
// attributes are `@_name` keys, element text next to attributes is `#text`, repeated elements
// become arrays, values stay text.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

export const MAX_XML_CHARS = 16 * 1024 * 1024;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  trimValues: true,
  // No entity expansion beyond the XML built-ins: no billion-laughs.
  processEntities: true,
  htmlEntities: false,
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', suppressEmptyNode: true });

export function cyclrXmlDeserialize(xml: unknown): unknown {
  const text = xml === undefined || xml === null ? '' : String(xml);
  if (text.length > MAX_XML_CHARS) throw new Error(`cyclr_xml_deserialize: the XML is larger than ${MAX_XML_CHARS} characters`);
  if (text.trim() === '') return null;
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`cyclr_xml_deserialize: malformed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  return parser.parse(text) as unknown;
}

export function cyclrXmlSerialize(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return builder.build({ root: value }) as string;
  const doc = Array.isArray(value) ? { root: { item: value } } : value;
  return builder.build(doc) as string;
}
