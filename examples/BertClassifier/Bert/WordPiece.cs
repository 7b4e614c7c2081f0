using System.Text;
using Microsoft.ML.Tokenizers;

namespace BertClassifierExample.Bert;

/// <summary>
/// MiniLM's tokenizer: Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/> (lower-casing, basic tokenization,
/// WordPiece) over the vocab.txt of the package, and the batching BERT takes: [CLS] text [SEP], cut to
/// <c>maxLength</c> tokens, padded with [PAD] (id 0) to the longest row of the batch.
/// </summary>
internal sealed class WordPiece
{
    private readonly BertTokenizer _tokenizer;

    private WordPiece(BertTokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>
    /// The tokenizer over a vocab.txt's bytes. The package's file has CRLF line ends: each line's '\r' is removed first,
    /// else every entry would end in '\r' and only the special tokens could match.
    /// </summary>
    public static WordPiece FromVocabulary(byte[] vocabTxt)
    {
        string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(vocabTxt).Replace("\r\n", "\n", StringComparison.Ordinal);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var tokenizer = BertTokenizer.Create(stream, new BertOptions { LowerCaseBeforeTokenization = true });
        return new WordPiece(tokenizer);
    }

    public int PaddingId => _tokenizer.PaddingTokenId;

    public int ClassificationId => _tokenizer.ClassificationTokenId;

    public int SeparatorId => _tokenizer.SeparatorTokenId;

    /// <summary>[CLS] ids of <paramref name="text"/> [SEP], at most <paramref name="maxLength"/> ids (the text cut, [SEP] kept).</summary>
    public int[] Encode(string text, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var ids = _tokenizer.EncodeToIds(text, addSpecialTokens: false);
        int kept = Math.Min(ids.Count, maxLength - 2);
        var row = new int[kept + 2];
        row[0] = ClassificationId;
        for (int i = 0; i < kept; i++) row[i + 1] = ids[i];
        row[^1] = SeparatorId;
        return row;
    }

    /// <summary>The sentences as one batch, padded to the longest of them (at most <paramref name="maxLength"/>).</summary>
    public BertBatch Batch(IReadOnlyList<string> sentences, int maxLength)
    {
        var rows = sentences.Select(s => Encode(s, maxLength)).ToArray();
        int length = rows.Max(r => r.Length);
        var ids = new int[rows.Length * length];
        var mask = new int[rows.Length * length];
        if (PaddingId != 0) Array.Fill(ids, PaddingId);
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i].CopyTo(ids, i * length);
            mask.AsSpan(i * length, rows[i].Length).Fill(1);
        }
        return new BertBatch(rows.Length, length, ids, mask, new int[rows.Length * length]);
    }

    /// <summary>The WordPiece tokens of <paramref name="text"/> (no [CLS]/[SEP]), for showing what the model reads.</summary>
    public IEnumerable<string> Tokens(string text) => _tokenizer.EncodeToTokens(text, out _).Select(t => t.Value);
}
