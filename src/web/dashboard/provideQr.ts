/**
 * The provide link as a QR code, so a phone joins the grid by scanning the dashboard: the link carries
 * the provide token (it lets a tab lend itself and nothing else), never the API token.
 */
import qrcode from 'qrcode-generator'

/** Blank cells around the code, as the QR standard asks, so cameras find its edges. */
const QUIET_ZONE = 4
const CELL_PX = 4

/** Draws `text` as a QR code (error correction M) on the canvas, black on white. */
export function drawQrCode (canvas: HTMLCanvasElement, text: string): void {
  const code = qrcode(0, 'M')
  code.addData(text)
  code.make()
  const cells = code.getModuleCount()
  canvas.width = canvas.height = (cells + 2 * QUIET_ZONE) * CELL_PX
  const context = canvas.getContext('2d')
  if (context === null) return
  context.fillStyle = '#fff'
  context.fillRect(0, 0, canvas.width, canvas.height)
  context.fillStyle = '#000'
  for (let row = 0; row < cells; row++) {
    for (let column = 0; column < cells; column++) {
      if (code.isDark(row, column)) context.fillRect((column + QUIET_ZONE) * CELL_PX, (row + QUIET_ZONE) * CELL_PX, CELL_PX, CELL_PX)
    }
  }
}
