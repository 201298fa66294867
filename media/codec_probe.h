/* ISO-BMFF video codec probe: which codec the first video track uses and
 * whether it is HDR, so the daemon can decide to transcode. */
#ifndef MEDIAFS_MEDIA_CODEC_PROBE_H
#define MEDIAFS_MEDIA_CODEC_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* Probes the file open as fd (pread only; the offset is not changed).
 * Assumes: fd readable. Guarantees: 0 with codec set to a NUL-terminated
 * name of the first video track's sample entry ("hevc" for hvc1/hev1 and the
 * Dolby Vision dvh1/dvhe, "avc" for avc1/avc3, "av1", "vp9", else the
 * printable four-character code) and *is_hdr = 1 when its colr box (nclx or
 * nclc) says transfer characteristics 16 (PQ) or 18 (HLG), or for Dolby
 * Vision; -ENOENT when the file has no video track (or is not ISO-BMFF);
 * another negative errno on I/O error. */
int media_probe_video_codec(int fd, char codec[8], int *is_hdr);

/* Same, for a file in memory. Assumes data has len bytes. */
int media_probe_video_codec_buffer(const uint8_t *data, size_t len, char codec[8], int *is_hdr);

#endif
