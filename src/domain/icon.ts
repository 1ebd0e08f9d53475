// Icon rule (seed "Connector Settings"): a PNG, exactly 400x400, at most 1 MB, decoded fully so
// that corrupt or truncated files are refused, with a message that says what was wrong.
import { imageSize } from 'image-size'
import { PNG } from 'pngjs'

export const ICON_SIZE = 400
export const ICON_MAX_BYTES = 1024 * 1024

export type IconCheck = { ok: true } | { ok: false; message: string }

const TYPE_NAMES: Record<string, string> = { jpg: 'JPEG', svg: 'SVG', gif: 'GIF', webp: 'WebP', ico: 'ICO', bmp: 'BMP', tiff: 'TIFF' }

export function checkIcon(data: Buffer): IconCheck {
  if (data.length === 0) return { ok: false, message: 'icon must be a 400x400 PNG; the body is empty' }
  if (data.length > ICON_MAX_BYTES) return { ok: false, message: `icon must be at most 1 MB; got ${data.length} bytes` }
  let type: string | undefined
  let width: number | undefined
  let height: number | undefined
  try {
    const s = imageSize(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    type = s.type
    width = s.width
    height = s.height
  } catch {
    return { ok: false, message: 'icon must be a 400x400 PNG; got data that is not a recognised image' }
  }
  const got = `${width}x${height} ${TYPE_NAMES[type ?? ''] ?? (type ?? 'unknown').toUpperCase()}`
  if (type !== 'png' || width !== ICON_SIZE || height !== ICON_SIZE) {
    return { ok: false, message: `icon must be a 400x400 PNG; got ${got}` }
  }
  try {
    PNG.sync.read(data)
  } catch (err) {
    return { ok: false, message: `icon must be a valid 400x400 PNG; the file is corrupt (${(err as Error).message})` }
  }
  return { ok: true }
}
