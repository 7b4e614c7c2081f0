using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ModelDsl.Text;

namespace ModelDsl.Cli;

/// <summary>Finds and reads .model files the way the generator sees them: as text, never throwing on bad bytes.</summary>
internal static class ModelSource
{
    /// <summary>Files are read whole only up to this size; larger ones are reported (MDL0005) from their first bytes.</summary>
    private const int ReadLimit = 1 << 20;

    /// <summary>Expands folders to the .model files under them (sorted, for stable output); keeps files as given.</summary>
    public static IEnumerable<string> Expand(IEnumerable<string> arguments, TextWriter stderr, Action onMissing)
    {
        foreach (var argument in arguments)
        {
            if (Directory.Exists(argument))
            {
                var files = Directory.EnumerateFiles(argument, "*.model", SearchOption.AllDirectories)
                    .OrderBy(f => f, StringComparer.Ordinal)
                    .ToList();
                if (files.Count == 0)
                {
                    // Checking nothing is not a pass: a wrong folder (or a misspelt extension) must not look green.
                    stderr.WriteLine($"modeldsl: error: no .model files under '{argument}'");
                    onMissing();
                }
                foreach (var file in files) yield return file;
            }
            else if (File.Exists(argument))
            {
                yield return argument;
            }
            else
            {
                stderr.WriteLine($"modeldsl: error: file not found: {argument}");
                onMissing();
            }
        }
    }

    /// <summary>
    /// Reads a file as UTF-8 (a BOM is allowed). Invalid bytes decode to U+FFFD, which the front end reports as
    /// MDL0004 with its position, exactly as it does for text the compiler hands the generator.
    /// </summary>
    public static SourceText Read(string path)
    {
        using var stream = File.OpenRead(path);
        long length = stream.Length;
        var buffer = new byte[Math.Min(length, ReadLimit + 1)];
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0) break;
            read += n;
        }

        // Past the limit the text is cut one character over it, so the front end's size check fires with a
        // precise message instead of this program holding an arbitrarily large file in memory.
        string text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(buffer, 0, read);
        if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
        return new SourceText(path, text);
    }
}
