#!/bin/sh
# Regenerates the checked-in seed corpora under media/fuzz/corpus/ from
# ffmpeg, exiftool and heif-enc. Small frames keep every seed a few KB.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gps="-GPSLatitude=48.8566 -GPSLatitudeRef=N -GPSLongitude=2.3522 -GPSLongitudeRef=E -GPSAltitude=35"
xmp="-XMP:GPSLatitude=48.8566 -XMP:GPSLongitude=2.3522"
still="ffmpeg -v error -y -f lavfi -i testsrc=size=16x16 -frames:v 1"
clip="ffmpeg -v error -y -f lavfi -i testsrc=size=16x16:rate=5 -t 0.4 -pix_fmt yuv420p"
et="exiftool -q -q -m -overwrite_original"

for format in jpeg png webp tiff heif isobmff xmp; do
	rm -rf "${corpus:?}/$format"
	mkdir -p "$corpus/$format"
done
cd "$work"

$still j.jpg
cp j.jpg "$corpus/jpeg/plain.jpg"
cp j.jpg e.jpg; $et $gps -Artist=x e.jpg; cp e.jpg "$corpus/jpeg/exif_ii.jpg"
cp j.jpg m.jpg; $et -ExifByteOrder=Big-endian $gps m.jpg; cp m.jpg "$corpus/jpeg/exif_mm.jpg"
cp j.jpg x.jpg; $et $xmp x.jpg; cp x.jpg "$corpus/jpeg/xmp.jpg"
cp j.jpg s.jpg; $et -api XMPShorthand=1 $xmp $gps s.jpg; cp s.jpg "$corpus/jpeg/xmp_short.jpg"

$still p.png; $et $gps $xmp p.png; cp p.png "$corpus/png/gps.png"
$still w.webp; $et $gps $xmp w.webp; cp w.webp "$corpus/webp/gps.webp"
$still -pix_fmt gray t.tif; cp t.tif "$corpus/tiff/plain.tif"
$et $gps $xmp t.tif; cp t.tif "$corpus/tiff/gps.tif"
exiftool -q -q -m -exif -b e.jpg > "$corpus/tiff/exif_ii.tiff"
exiftool -q -q -m -exif -b m.jpg > "$corpus/tiff/exif_mm.tiff"

$still h.png
heif-enc -q 10 h.png -o h.heic >/dev/null; $et $gps $xmp h.heic; cp h.heic "$corpus/heif/gps.heic"
heif-enc -A -q 10 h.png -o h.avif >/dev/null; $et $gps h.avif; cp h.avif "$corpus/heif/gps.avif"

$clip -metadata location=+48.8566+002.3522/ v.mp4; cp v.mp4 "$corpus/isobmff/loci.mp4"
$clip -metadata location=+48.8566+002.3522/ v.mov; cp v.mov "$corpus/isobmff/xyz.mov"
$clip k.mov; $et -n -Keys:GPSCoordinates='48.8566 2.3522 35' k.mov; cp k.mov "$corpus/isobmff/keys.mov"
$clip u.mov; $et -n -ItemList:GPSCoordinates='48.8566 2.3522' $xmp u.mov; cp u.mov "$corpus/isobmff/ilst_xmp.mov"
$clip x.mp4; $et $xmp x.mp4; cp x.mp4 "$corpus/isobmff/xmp.mp4"
ffmpeg -v error -y -f lavfi -i sine=duration=0.1 -b:a 16k -metadata location=+48.8566+002.3522/ a.m4a
cp a.m4a "$corpus/isobmff/loci.m4a"
$clip -c:v libx265 -x265-params log-level=none -tag:v hvc1 -color_trc arib-std-b67 \
	-color_primaries bt2020 -colorspace bt2020nc hlg.mp4
cp hlg.mp4 "$corpus/isobmff/hlg.mp4"

exiftool -q -q -m -xmp -b x.jpg > "$corpus/xmp/elements.xmp"
exiftool -q -q -m -xmp -b s.jpg > "$corpus/xmp/attributes.xmp"
printf '<x:xmpmeta><rdf:RDF><rdf:Description><exif:GPSLatitude>1</exif:GPSLatitude><!-- c --></rdf:Description></rdf:RDF></x:xmpmeta>' \
	> "$corpus/xmp/small.xmp"
du -sh "$corpus"
