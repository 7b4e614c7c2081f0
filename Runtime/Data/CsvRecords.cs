using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ModelDsl.Runtime.Data;

/// <summary>Splits CSV text into records (RFC 4180 quoting: "a,b", "say ""hi""", line breaks inside quotes).</summary>
internal static class CsvRecords
{
    /// <summary>Records with the 1-based line each starts on; blank lines are skipped.</summary>
    public static IEnumerable<(int Line, List<string> Fields)> Read(string text, char delimiter, string name)
    {
        int i = 0, line = 1;
        var field = new StringBuilder();
        while (i < text.Length)
        {
            int start = line;
            var fields = new List<string>();
            bool endOfRecord = false;
            while (!endOfRecord)
            {
                field.Clear();
                if (i < text.Length && text[i] == '"')
                {
                    i++;
                    while (true)
                    {
                        if (i >= text.Length)
                            throw new InvalidDataException($"{name}:{start}: column {fields.Count + 1}: quoted field is never closed");
                        char c = text[i++];
                        if (c == '"')
                        {
                            if (i < text.Length && text[i] == '"') { field.Append('"'); i++; continue; }
                            break;
                        }
                        if (c == '\n') line++;
                        field.Append(c);
                    }
                    // Only spaces may sit between a closing quote and the delimiter.
                    while (i < text.Length && text[i] is ' ' or '\t') i++;
                    if (i < text.Length && text[i] != delimiter && text[i] != '\r' && text[i] != '\n')
                        throw new InvalidDataException($"{name}:{line}: column {fields.Count + 1}: unexpected '{text[i]}' after a closing quote");
                }
                else
                {
                    while (i < text.Length && text[i] != delimiter && text[i] != '\r' && text[i] != '\n') field.Append(text[i++]);
                }
                fields.Add(field.ToString());

                if (i >= text.Length) endOfRecord = true;
                else if (text[i] == delimiter) i++;
                else
                {
                    if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                    i++;
                    line++;
                    endOfRecord = true;
                }
            }
            if (fields.Count == 1 && fields[0].Trim().Length == 0) continue;
            yield return (start, fields);
        }
    }

    /// <summary>',' unless the first line has more ';' than ',' outside quotes.</summary>
    public static char DetectDelimiter(string text)
    {
        int commas = 0, semicolons = 0;
        bool quoted = false;
        foreach (char c in text)
        {
            if (c == '"') quoted = !quoted;
            else if (!quoted && c is '\n' or '\r') break;
            else if (!quoted && c == ',') commas++;
            else if (!quoted && c == ';') semicolons++;
        }
        return semicolons > commas ? ';' : ',';
    }
}
