// Image fixtures made in the test, so nothing binary is committed.
import { PNG } from 'pngjs'

export function makePng(width = 400, height = 400): Buffer {
  const png = new PNG({ width, height })
  for (let i = 0; i < png.data.length; i += 4) {
    png.data[i] = (i / 4) % 256
    png.data[i + 1] = 120
    png.data[i + 2] = 200
    png.data[i + 3] = 255
  }
  return PNG.sync.write(png)
}

/** A PNG whose header says 400x400 but whose image data is damaged. */
export function corruptPng(): Buffer {
  const buf = Buffer.from(makePng())
  const idat = buf.indexOf('IDAT')
  for (let i = idat + 8; i < idat + 200; i++) buf[i] = buf[i] ^ 0xff
  return buf
}

export function truncatedPng(): Buffer {
  const buf = makePng()
  return buf.subarray(0, Math.floor(buf.length / 2))
}

/** The header of a baseline JPEG of the given size (enough for a type/size sniff). */
export function jpegHeader(width = 200, height = 200): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 255, width >> 8, width & 255, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01])
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])])
}
