using BertClassifierExample.Bert;

namespace ModelDsl.BertClassifier.Tests;

/// <summary>
/// MiniLM's WordPiece tokenizer (Microsoft.ML.Tokenizers over the package's vocab.txt), the batches BERT takes, and the
/// original model.onnx in ONNX Runtime with padded batches.
/// </summary>
public sealed class TokenizerAndReferenceTests
{
    private static readonly Lazy<WordPiece> Tokenizer = new(() => WordPiece.FromVocabulary(MiniLmPackage.Vocabulary()));

    [Fact]
    public void The_vocabulary_is_bert_base_uncased_with_its_crlf_line_ends_removed()
    {
        var vocab = MiniLmPackage.Vocabulary();
        Assert.Equal(30522, System.Text.Encoding.UTF8.GetString(vocab).Split("\r\n").Count(l => l.Length > 0));
        var wordPiece = Tokenizer.Value;
        Assert.Equal((0, 101, 102), (wordPiece.PaddingId, wordPiece.ClassificationId, wordPiece.SeparatorId));
        // bert-base-uncased ids: hello 7592, "," 1010, world 2088, "!" 999 (lower-cased first).
        Assert.Equal(new[] { 101, 7592, 1010, 2088, 999, 102 }, wordPiece.Encode("Hello, World!", 128));
        // Words outside the vocabulary split into pieces; with '\r' left on the entries every word would be [UNK] (100).
        Assert.Equal(new[] { "una", "##ffa", "##ble" }, wordPiece.Tokens("unaffable"));
        Assert.DoesNotContain(100, wordPiece.Encode("The dog-friendly treats arrived on time.", 128));
    }

    [Fact]
    public void Long_texts_are_cut_to_the_length_with_sep_kept()
    {
        var ids = Tokenizer.Value.Encode(string.Join(" ", Enumerable.Repeat("tasty", 300)), 16);
        Assert.Equal(16, ids.Length);
        Assert.Equal(101, ids[0]);
        Assert.Equal(102, ids[^1]);
        Assert.All(ids[1..^1], id => Assert.NotEqual(102, id));
    }

    [Fact]
    public void A_batch_is_padded_to_its_longest_sentence_with_a_mask_and_one_segment()
    {
        var batch = Tokenizer.Value.Batch(new[] { "Good.", "Not good at all, sadly.", "Fine" }, 128);
        Assert.Equal(3, batch.Count);
        Assert.Equal(Tokenizer.Value.Encode("Not good at all, sadly.", 128).Length, batch.Length);
        Assert.Equal(new[] { 4, batch.Length, 3 }, Enumerable.Range(0, 3).Select(batch.Tokens));
        for (int r = 0; r < 3; r++)
            for (int t = 0; t < batch.Length; t++)
            {
                bool real = t < batch.Tokens(r);
                Assert.Equal(real ? 1 : 0, batch.AttentionMask[r * batch.Length + t]);
                if (!real) Assert.Equal(0, batch.InputIds[r * batch.Length + t]);
            }
        Assert.All(batch.TokenTypeIds, id => Assert.Equal(0, id));
    }

    [Fact]
    public void The_onnx_reference_ignores_padding_at_real_tokens()
    {
        using var reference = new OnnxReference(MiniLmPackage.ModelOnnx());
        var wordPiece = Tokenizer.Value;
        string shortOne = "Tasty.", longOne = "These crackers were stale when they arrived, and the box was crushed.";
        var batch = wordPiece.Batch(new[] { shortOne, longOne }, 128);
        var alone = wordPiece.Batch(new[] { shortOne }, 128);
        var padded = reference.LastHiddenState(batch);
        var unpadded = reference.LastHiddenState(alone);
        Assert.Equal(2 * batch.Length * OnnxReference.Hidden, padded.Length);
        double max = 0;
        for (int i = 0; i < alone.Length * OnnxReference.Hidden; i++) max = Math.Max(max, Math.Abs(padded[i] - unpadded[i]));
        Assert.True(max < 1e-4, $"the short sentence's real tokens moved by {max} when padded");
        // Not a constant: the two sentences' [CLS] rows differ.
        double diff = 0;
        for (int i = 0; i < OnnxReference.Hidden; i++) diff = Math.Max(diff, Math.Abs(padded[i] - padded[batch.Length * OnnxReference.Hidden + i]));
        Assert.True(diff > 0.1, $"[CLS] rows of two different sentences differ by only {diff}");
    }
}
