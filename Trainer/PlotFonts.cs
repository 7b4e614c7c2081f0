using System.IO;
using ScottPlot;
using SkiaSharp;

namespace ModelDsl.Training;

/// <summary>
/// Text for plots on machines without fonts. SkiaSharp's NoDependencies build finds fonts by scanning
/// /usr/share/fonts; on a bare CI image there are none, and ScottPlot would draw curves without any text. Then,
/// and only then, every font request is answered with DejaVu Sans embedded in this assembly (Fonts/LICENSE.txt).
/// </summary>
internal static class PlotFonts
{
    private static readonly object Gate = new();
    private static bool _checked;

    public static void EnsureAvailable()
    {
        lock (Gate)
        {
            if (_checked) return;
            _checked = true;
            // The font manager of a machine without fonts still lists one empty family: ask for a glyph instead.
            using (var system = SKFontManager.Default.MatchCharacter('0'))
                if (system is { GlyphCount: > 0 }) return;
            Fonts.FontResolvers.Add(new EmbeddedFontResolver());
            Fonts.Default = Fonts.Sans = Fonts.Serif = Fonts.Monospace = "DejaVu Sans";
        }
    }

    private sealed class EmbeddedFontResolver : IFontResolver
    {
        private readonly byte[] _font = Load();

        private static byte[] Load()
        {
            using var stream = typeof(PlotFonts).Assembly.GetManifestResourceStream("ModelDsl.Training.Fonts.DejaVuSans.ttf")
                ?? throw new InvalidDataException("the embedded plot font is missing from ModelDsl.Trainer");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        private SKTypeface Create() => SKTypeface.FromData(SKData.CreateCopy(_font));

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) => Create();

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) => Create();
    }
}
