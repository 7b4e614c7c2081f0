using System.Globalization;
using System.Text;
using ModelDsl.Runtime;

namespace TrainStepBench;

/// <summary>
/// The <c>bert</c> row of bench/compare.sh: one fine-tuning step (forward with dropout, cross-entropy, backward, clipping
/// to norm 1, AdamW with the linear schedule) of examples/BertClassifier/bert_classifier.model at B = 16, T = 128, every
/// token real (mask all ones), segment 0 on the first 64 positions and 1 on the rest. bench/pytorch/compare.py times the
/// same architecture written as a PyTorch module (<c>bench/pytorch/bert.py</c>).
/// </summary>
/// <remarks>
/// The two sides are checked against each other once, before any timing: this side writes its parameters (in
/// <c>Parameters</c> order), the inputs, and its logits and losses with dropout off (<c>Forward</c>, <c>Evaluate</c>) to
/// the folder named by <c>MODELDSL_BENCH_BERT_CHECK</c>; the PyTorch side loads those weights into its module, requires
/// the same parameter count and shapes, and the same logits and losses: on the timed batch, and on a padded batch
/// (lengths 128 down to 8) that exercises the key padding mask and the masked mean. (The logits carry the check: at
/// initialisation the loss is close to ln 2 whatever the encoder computes.)
/// </remarks>
internal static class BertBench
{
    public const int Batch = 16;
    public const int Steps = 128;

    /// <summary>The environment variable naming the folder the check files go to (bench/compare.sh sets it).</summary>
    public const string CheckVariable = "MODELDSL_BENCH_BERT_CHECK";

    /// <summary>The model (seed 1) and the timed batch.</summary>
    public static (BertClassifier Model, IntTensor Ids, IntTensor Segment, IntTensor Mask, IntTensor Labels) Setup()
    {
        // TotalSteps: the linear schedule decays to 0 at TotalSteps; far away, so every timed step does the same work.
        var model = new BertClassifier(seed: 1) { TotalSteps = 1_000_000 };
        var random = new Random(5);
        var ids = new IntTensor(Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(30522)).ToArray(), Batch, Steps);
        var segment = new IntTensor(Enumerable.Range(0, Batch * Steps).Select(i => i % Steps < Steps / 2 ? 0 : 1).ToArray(), Batch, Steps);
        var mask = new IntTensor(Enumerable.Repeat(1, Batch * Steps).ToArray(), Batch, Steps);
        var labels = new IntTensor(Enumerable.Range(0, Batch).Select(i => i % 2).ToArray(), Batch);
        return (model, ids, segment, mask, labels);
    }

    /// <summary>
    /// Floating-point operations of one step, counting the GEMMs and attention's two batched products (2 per multiply-add)
    /// of the forward, and twice those for the backward (input and weight gradients); elementwise work, layer norms,
    /// softmax and the optimizer are left out, as PyTorch and llm.c count.
    /// </summary>
    public static double StepFlops(int layers = 6, int d = 384, int ffn = 1536, int classes = 2)
    {
        double tokens = (double)Batch * Steps;
        double perLayer = 2 * tokens * d * (3 * d)      // q, k, v projection
                        + 2 * tokens * d * d            // output projection
                        + 2 * 2 * tokens * Steps * d    // q·kᵀ and P·v, over all heads
                        + 2 * 2 * tokens * d * ffn;     // the two feed-forward layers
        double forward = layers * perLayer + 2.0 * Batch * d * classes;
        return 3 * forward;
    }

    /// <summary>The row: the step's time, the work it does per step (a STEP line for the table) and the check files.</summary>
    public static void Run()
    {
        var (model, ids, segment, mask, labels) = Setup();
        string? folder = Environment.GetEnvironmentVariable(CheckVariable);
        if (!string.IsNullOrEmpty(folder)) WriteCheck(model, ids, segment, mask, labels, folder);
        Timing.Info("modeldsl", string.Create(CultureInfo.InvariantCulture,
            $"bert: bert_classifier.model, B={Batch} T={Steps} (all tokens real), {BertClassifier.ParameterCount} parameters, {StepFlops() / 1e9:F1} GFLOP per step"));
        var seconds = Timing.Time(() => model.TrainStep(ids, segment, mask, labels));
        Timing.Emit("modeldsl", "bert", "us", seconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"STEP\tbert\t{Batch}\t{StepFlops():R}"));
    }

    /// <summary>For a profiler: one step as <see cref="Run"/> times it.</summary>
    public static Action Step(bool forwardOnly)
    {
        var (model, ids, segment, mask, labels) = Setup();
        return forwardOnly ? () => model.Forward(ids, segment, mask) : () => model.TrainStep(ids, segment, mask, labels);
    }

    /// <summary>
    /// Writes to <paramref name="folder"/>: <c>bert.params</c> (every parameter's float32 values, in
    /// <c>Parameters</c> order), <c>bert.txt</c> (one line per parameter: name and shape; the inputs; the losses and logits with dropout off).
    /// </summary>
    public static void WriteCheck(BertClassifier model, IntTensor ids, IntTensor segment, IntTensor mask, IntTensor labels, string folder)
    {
        Directory.CreateDirectory(folder);
        using (var values = new BinaryWriter(File.Create(Path.Combine(folder, "bert.params"))))
        {
            foreach (var p in model.Parameters)
                foreach (float v in p.Value) values.Write(v);
        }
        // The padded batch: row b keeps its first 128 - 8b tokens (at least 8), the rest is padding (id 0, mask 0).
        var paddedMask = new IntTensor(Enumerable.Range(0, Batch * Steps).Select(i => i % Steps < Math.Max(8, Steps - 8 * (i / Steps)) ? 1 : 0).ToArray(), Batch, Steps);
        var paddedIds = new IntTensor(ids.Data.Select((v, i) => paddedMask.Data[i] == 1 ? v : 0).ToArray(), Batch, Steps);
        float loss = model.Evaluate(ids, segment, mask, labels);
        float[] logits = model.Forward(ids, segment, mask).Data.ToArray();
        float paddedLoss = model.Evaluate(paddedIds, segment, paddedMask, labels);
        float[] paddedLogits = model.Forward(paddedIds, segment, paddedMask).Data.ToArray();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"parameters {model.Parameters.Count} {BertClassifier.ParameterCount}\n");
        foreach (var p in model.Parameters) text.Append(CultureInfo.InvariantCulture, $"param {p.Name} {string.Join(",", p.Shape)}\n");
        text.Append(CultureInfo.InvariantCulture, $"batch {Batch} {Steps}\n");
        text.Append("ids ").AppendJoin(' ', ids.Data).Append('\n');
        text.Append("segment ").AppendJoin(' ', segment.Data).Append('\n');
        text.Append("mask ").AppendJoin(' ', mask.Data).Append('\n');
        text.Append("padded_ids ").AppendJoin(' ', paddedIds.Data).Append('\n');
        text.Append("padded_mask ").AppendJoin(' ', paddedMask.Data).Append('\n');
        text.Append("labels ").AppendJoin(' ', labels.Data).Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"loss {loss:R}\n");
        text.Append(CultureInfo.InvariantCulture, $"padded_loss {paddedLoss:R}\n");
        text.Append("logits ").AppendJoin(' ', logits.Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        text.Append("padded_logits ").AppendJoin(' ', paddedLogits.Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        File.WriteAllText(Path.Combine(folder, "bert.txt"), text.ToString());
        Timing.Info("modeldsl", string.Create(CultureInfo.InvariantCulture,
            $"bert: wrote its weights and losses with dropout off (all real {loss:R}, padded {paddedLoss:R}) to {folder} for the PyTorch side's check"));
    }
}
