/**
 * Turns rendered frames into something to watch: an animated PNG (conun's own encoder, lossless,
 * always written) and, when Debian's ffmpeg is installed, an H.264 MP4.
 */
import { spawn, spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { encodeApng } from '../../src/util/index.ts'

export function hasFfmpeg (): boolean {
  return spawnSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' }).status === 0
}

/** Runs ffmpeg with `input` on its stdin; rejects with its stderr when it fails. */
export function ffmpeg (args: readonly string[], input?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (data: Buffer) => stdout.push(data))
    child.stderr.on('data', (data: Buffer) => stderr.push(data))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout))
      else reject(new Error(`ffmpeg ${args.join(' ')} exited ${code}: ${Buffer.concat(stderr).toString('utf8').trim()}`))
    })
    // ffmpeg may exit before reading everything (it reports why on stderr).
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}

export async function writeApng (path: string, width: number, height: number, frames: readonly Uint8Array[], fps: number): Promise<void> {
  await writeFile(path, encodeApng(width, height, frames, fps))
}

/** Encodes the frames as H.264 (yuv420p, padded to even sizes, as players need) into an MP4. */
export async function writeMp4 (path: string, width: number, height: number, frames: readonly Uint8Array[], fps: number): Promise<void> {
  await ffmpeg([
    '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', 'medium', '-crf', '18', '-pix_fmt', 'yuv420p',
    '-movflags', '+faststart', path,
  ], Buffer.concat(frames))
}
