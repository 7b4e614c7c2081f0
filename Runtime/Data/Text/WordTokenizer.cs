using System;
using System.Collections.Generic;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Words for a bag-of-words or word-embedding model: maximal runs of letters (<see cref="char.IsLetter(char)"/>, so
/// accented letters count), lower-cased in the invariant culture. Everything else separates words and is dropped:
/// digits, punctuation, and the apostrophe, so "Don't" is "don" and "t". Crude, but it is the same on every machine
/// and needs no language data.
/// </summary>
public static class WordTokenizer
{
    public static IEnumerable<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !char.IsLetter(text[i])) i++;
            int start = i;
            while (i < text.Length && char.IsLetter(text[i])) i++;
            if (i > start)
                yield return text[start..i].ToLowerInvariant();
        }
    }
}
