using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// A word ↔ id table: id 0 is padding, 1 is every word not in the table, then the kept words from the most frequent
/// down (ties in ordinal order, so a build is deterministic). Build it from the training split only: words seen only
/// in validation or test must look unknown, as they would to a deployed model.
/// </summary>
public sealed class WordVocabulary
{
    public const int PaddingId = 0;
    public const int UnknownId = 1;
    public const int ReservedCount = 2;

    private readonly string[] _words;
    private readonly Dictionary<string, int> _ids;

    private WordVocabulary(string[] words)
    {
        _words = words;
        _ids = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
        for (int i = 0; i < words.Length; i++) _ids.Add(words[i], ReservedCount + i);
    }

    /// <summary>The <paramref name="maxWords"/> most frequent <see cref="WordTokenizer"/> words of <paramref name="texts"/>.</summary>
    public static WordVocabulary Build(IEnumerable<string> texts, int maxWords)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxWords);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string text in texts)
            foreach (string word in WordTokenizer.Words(text))
                counts[word] = counts.GetValueOrDefault(word) + 1;
        string[] kept = counts
            .OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Take(maxWords).Select(p => p.Key).ToArray();
        return new WordVocabulary(kept);
    }

    /// <summary>Number of ids, reserved ones included: an embedding table needs at least this many rows.</summary>
    public int Size => ReservedCount + _words.Length;

    /// <summary>The kept words, by id from <see cref="ReservedCount"/>.</summary>
    public IReadOnlyList<string> Words => _words;

    /// <summary>The id of an already lower-cased word; <see cref="UnknownId"/> when it is not kept.</summary>
    public int Id(string word) => _ids.TryGetValue(word, out int id) ? id : UnknownId;

    /// <summary><c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c> or the word.</summary>
    public string Word(int id) => id switch
    {
        PaddingId => "<pad>",
        UnknownId => "<unk>",
        _ when id >= ReservedCount && id < Size => _words[id - ReservedCount],
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, $"word ids are 0..{Size - 1}"),
    };

    /// <summary>
    /// Writes the ids of <paramref name="text"/>'s words into <paramref name="destination"/>, whose length is the
    /// sequence length T. A longer text keeps its first T words (the opening words carry a fortune's style: a verse's
    /// first line, Zippy's "Yow!", an IRC nick); a shorter one is padded with <see cref="PaddingId"/> at the start, so
    /// the words sit at the end, next to the final state a recurrent classifier reads. Returns the number of words
    /// written (before padding, after truncation).
    /// </summary>
    public int Encode(string text, Span<int> destination)
    {
        ArgumentNullException.ThrowIfNull(text);
        int length = destination.Length;
        int n = 0;
        foreach (string word in WordTokenizer.Words(text))
        {
            if (n == length) break;
            destination[n++] = Id(word);
        }
        // Right-align the n ids, then pad the front.
        destination[..n].CopyTo(destination[(length - n)..]);
        destination[..(length - n)].Fill(PaddingId);
        return n;
    }
}
