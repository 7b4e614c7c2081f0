using System;
using System.Text;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Assigns a text to train / validation / test by a hash of its UTF-8 bytes: the same text lands in the same split on
/// every run, machine and .NET version (string.GetHashCode is randomised per process, so it cannot be used), and
/// adding or removing other texts never moves it. Duplicated texts share a split, so none leaks from train to test.
/// </summary>
public static class TextSplit
{
    /// <summary>Percent of texts, in expectation, in the validation split.</summary>
    public const int ValidationPercent = 10;

    /// <summary>Percent of texts, in expectation, in the test split; the rest (80 %) is training data.</summary>
    public const int TestPercent = 10;

    public static DataSplit Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int bucket = (int)(Hash(text) % 100);
        return bucket < TestPercent ? DataSplit.Test
            : bucket < TestPercent + ValidationPercent ? DataSplit.Validation
            : DataSplit.Train;
    }

    /// <summary>
    /// FNV-1a (64-bit) over the UTF-8 bytes, then SplitMix64's finaliser so that the low digits used for the bucket
    /// depend on every byte. Both are fixed by this code, so the split is part of the data set's definition.
    /// </summary>
    public static ulong Hash(string text)
    {
        ulong h = 0xCBF29CE484222325UL;
        Span<byte> buffer = stackalloc byte[4];
        foreach (Rune rune in text.EnumerateRunes())
        {
            int n = rune.EncodeToUtf8(buffer);
            for (int i = 0; i < n; i++)
                h = (h ^ buffer[i]) * 0x100000001B3UL;
        }
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
        return h ^ (h >> 31);
    }
}
