using System;
using System.Collections.Generic;
using System.Text;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// The fortune(6) text format: fortunes separated by lines holding only <c>%</c>. This is the parsing and clean-up
/// of one file; <see cref="Fortunes"/> loads folders of them.
/// </summary>
public static class FortuneFile
{
    /// <summary>
    /// Splits <paramref name="text"/> into fortunes and cleans each one:
    /// <list type="bullet">
    /// <item>CRLF and lone CR become LF, so a file edited on Windows parses the same;</item>
    /// <item>a line that is <c>%</c> (trailing blanks allowed) separates fortunes;</item>
    /// <item>terminal overstriking is rendered: a backspace removes the character before it (the Debian files
    /// underline with <c>_\bX</c> and accent with <c>e'\b</c>), and other control characters (the BEL in a few
    /// "system message" jokes) are dropped; tabs stay, they indent attributions;</item>
    /// <item>trailing blanks are cut from every line, blank lines from both ends; empty fortunes are dropped.</item>
    /// </list>
    /// Leading blanks of the first line stay: ASCII art and verse depend on them.
    /// </summary>
    public static List<string> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var fortunes = new List<string>();
        var current = new StringBuilder();
        var line = new StringBuilder();
        int position = 0;
        while (position <= text.Length)
        {
            int end = text.IndexOfAny(LineBreaks, position);
            if (end < 0) end = text.Length;
            ReadOnlySpan<char> raw = text.AsSpan(position, end - position);
            position = end + (end + 1 < text.Length && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);

            if (raw.TrimEnd(" \t").SequenceEqual("%"))
            {
                Flush(current, fortunes);
                continue;
            }
            Render(raw, line);
            current.Append(line).Append('\n');
        }
        Flush(current, fortunes);
        return fortunes;
    }

    /// <summary>Reads one fortune file as strict UTF-8 (<see cref="StrictUtf8"/>) and parses it.</summary>
    public static List<string> Read(string path) => Parse(StrictUtf8.ReadFile(path));

    private static readonly char[] LineBreaks = ['\n', '\r'];

    // Renders a line as a terminal would show it, minus its trailing blanks.
    private static void Render(ReadOnlySpan<char> raw, StringBuilder line)
    {
        line.Clear();
        foreach (char c in raw)
        {
            if (c == '\b')
            {
                if (line.Length > 0) line.Length--;
            }
            else if (c == '\t' || !char.IsControl(c))
            {
                line.Append(c);
            }
        }
        int keep = line.Length;
        while (keep > 0 && line[keep - 1] is ' ' or '\t') keep--;
        line.Length = keep;
    }

    // Adds the fortune collected so far (blank lines trimmed from both ends), if any, and starts the next.
    private static void Flush(StringBuilder current, List<string> fortunes)
    {
        string text = current.ToString();
        current.Clear();
        int start = 0;
        // Skip whole blank lines at the start (each line already lost its trailing blanks, so blank means empty).
        while (start < text.Length && text[start] == '\n') start++;
        string fortune = text[start..].TrimEnd('\n');
        if (fortune.Length > 0)
            fortunes.Add(fortune);
    }
}
