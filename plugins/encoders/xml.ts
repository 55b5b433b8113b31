import { Builder } from 'xml2js';

// `allowEmpty` is an xmlbuilder render option that @types/xml2js does not list.
const builder = new Builder({ headless: true, renderOpts: { pretty: false, allowEmpty: true } as { pretty: boolean } });

/**
 * Renders a vendor XML reply with xml2js (escaping included); empty elements are written
 * `<Result></Result>`, as the vendors do.
 *
 * @example xml({ Response: { ResponseCode: 0, ResponseData: guid } })
 */
export function xml(document: Record<string, unknown>): string {
  return builder.buildObject(document);
}
