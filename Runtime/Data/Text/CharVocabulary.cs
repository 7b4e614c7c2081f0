using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Characters ↔ ids for a character-level language model. Id 0 (<see cref="UnknownId"/>) stands for every character
/// outside the table; ids 1.. are the kept characters in ordinal (UTF-16 code unit) order, so the same training text
/// always gives the same table, and <see cref="Chars"/> alone is enough to rebuild it (<see cref="FromChars"/>).
/// Characters are UTF-16 code units: a character outside the Basic Multilingual Plane is two ids, which round-trips.
/// </summary>
public sealed class CharVocabulary
{
    public const int UnknownId = 0;

    /// <summary>What <see cref="Decode"/> writes for <see cref="UnknownId"/>: U+FFFD, the replacement character.</summary>
    public const char UnknownChar = '\uFFFD';

    private readonly string _chars;
    private readonly int[] _ascii = new int[128];
    private readonly Dictionary<char, int> _others = [];

    private CharVocabulary(string chars)
    {
        _chars = chars;
        for (int i = 0; i < chars.Length; i++)
        {
            if (chars[i] < 128) _ascii[chars[i]] = i + 1;
            else _others.Add(chars[i], i + 1);
        }
    }

    /// <summary>
    /// The characters of <paramref name="trainingText"/> that occur at least <paramref name="minCount"/> times; when
    /// more than <paramref name="maxSize"/> − 1 remain, the most frequent (ties: lower code first). Rare characters
    /// (a stray accent, mojibake) then share the unknown id instead of getting embedding rows they cannot train.
    /// </summary>
    public static CharVocabulary Build(ReadOnlySpan<char> trainingText, int maxSize = int.MaxValue, int minCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minCount);
        var counts = new int[char.MaxValue + 1];
        foreach (char c in trainingText) counts[c]++;
        IEnumerable<char> kept = Enumerable.Range(0, counts.Length)
            .Where(c => counts[c] >= minCount)
            .OrderByDescending(c => counts[c]).ThenBy(c => c)
            .Take(maxSize - 1)
            .Select(c => (char)c);
        return new CharVocabulary(new string(kept.Order().ToArray()));
    }

    /// <summary>Rebuilds the vocabulary whose <see cref="Chars"/> this is (distinct, in ascending order).</summary>
    public static CharVocabulary FromChars(string chars)
    {
        ArgumentNullException.ThrowIfNull(chars);
        for (int i = 1; i < chars.Length; i++)
            if (chars[i] <= chars[i - 1])
                throw new ArgumentException($"characters must be distinct and in ascending order; position {i} breaks it", nameof(chars));
        return new CharVocabulary(chars);
    }

    /// <summary>Number of ids, the unknown id included: the model's vocabulary must be at least this.</summary>
    public int Size => _chars.Length + 1;

    /// <summary>The kept characters in id order (id = position + 1).</summary>
    public string Chars => _chars;

    public int Id(char c)
    {
        if (c < 128) return _ascii[c];
        return _others.TryGetValue(c, out int id) ? id : UnknownId;
    }

    public char Char(int id) =>
        id == UnknownId ? UnknownChar
        : (uint)(id - 1) < (uint)_chars.Length ? _chars[id - 1]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"character ids are 0..{Size - 1}");

    public int[] Encode(ReadOnlySpan<char> text)
    {
        var ids = new int[text.Length];
        Encode(text, ids);
        return ids;
    }

    /// <summary>Writes one id per character; <paramref name="destination"/> must be at least as long as the text.</summary>
    public void Encode(ReadOnlySpan<char> text, Span<int> destination)
    {
        if (destination.Length < text.Length)
            throw new ArgumentException($"destination holds {destination.Length} ids for {text.Length} characters", nameof(destination));
        for (int i = 0; i < text.Length; i++) destination[i] = Id(text[i]);
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++) chars[i] = Char(ids[i]);
        return new string(chars);
    }

    /// <summary>How many characters of <paramref name="text"/> map to <see cref="UnknownId"/>.</summary>
    public int CountUnknown(ReadOnlySpan<char> text)
    {
        int n = 0;
        foreach (char c in text) if (Id(c) == UnknownId) n++;
        return n;
    }

    public override string ToString() => $"{Size} character ids ({_chars.Length} characters + unknown)";
}
