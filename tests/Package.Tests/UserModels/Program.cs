// The six models a new user wrote from docs/language.md (issue 15), in a project that has only the ModelDsl packages:
// each trains on a small synthetic task it can learn (its loss on a held-out batch must fall), then is exported to ONNX
// and run by ONNX Runtime, whose output must match Forward. One line per result, read by UserModelTests.
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using ModelDsl.Runtime;
using UserModels;

var random = new Random(20261204);
string folder = args.Length > 0 ? args[0] : Directory.GetCurrentDirectory();

// 1. An LSTM over float sequences: is the sum of the first feature over time positive?
{
    const int T = 10;
    (Tensor, IntTensor) Batch(int b, int t)
    {
        var x = new float[b * t * 3];
        var y = new int[b];
        for (int i = 0; i < b; i++)
        {
            float sum = 0;
            for (int s = 0; s < t; s++)
            for (int f = 0; f < 3; f++)
            {
                float v = Uniform();
                x[(i * t + s) * 3 + f] = v;
                if (f == 0) sum += v;
            }
            y[i] = sum > 0 ? 1 : 0;
        }
        return (new Tensor(x, b, t, 3), new IntTensor(y, b));
    }

    var model = new SeqLstm(seed: 1);
    var (hx, hy) = Batch(128, T);
    float before = model.Evaluate(hx, hy);
    var losses = new List<float>();
    for (int step = 0; step < 80; step++)
    {
        var (x, y) = Batch(32, T);
        losses.Add(model.TrainStep(x, y));
    }
    Report("SeqLstm", before, model.Evaluate(hx, hy), losses);

    // Load restores the learning rate a schedule had set, with the weights and the step.
    model.LearningRate = 4.5e-3f;
    string checkpoint = Path.Combine(folder, "seq_lstm.safetensors");
    model.Save(checkpoint);
    var restored = new SeqLstm(seed: 2);
    restored.Load(checkpoint);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"restored SeqLstm lr {restored.LearningRate:R} step {restored.Step} eval {restored.Evaluate(hx, hy):R} {model.Evaluate(hx, hy):R}"));

    // ONNX at the trained length and at another (T is symbolic).
    string path = Path.Combine(folder, "seq_lstm.onnx");
    model.ExportOnnx(path);
    using var session = new InferenceSession(path);
    var (x2, _) = Batch(5, 17);
    Compare("SeqLstm", model.Forward(hx), session, ("x", hx));
    Compare("SeqLstm", model.Forward(x2), session, ("x", x2));
}

// 2. A Keras-style conv net on channels-last images: is the bright square in the left or the right half?
{
    (Tensor, IntTensor) Batch(int b)
    {
        var x = new float[b * 12 * 12];
        var y = new int[b];
        for (int i = 0; i < b; i++)
        {
            for (int p = 0; p < 144; p++) x[i * 144 + p] = 0.1f * Uniform();
            y[i] = random.Next(2);
            int r0 = random.Next(0, 10), c0 = y[i] == 0 ? random.Next(0, 4) : random.Next(6, 10);
            for (int r = r0; r < r0 + 3; r++)
            for (int c = c0; c < c0 + 3; c++)
                x[i * 144 + r * 12 + c] += 1f;      // [B, 12, 12, 1]: channel last
        }
        return (new Tensor(x, b, 12, 12, 1), new IntTensor(y, b));
    }

    var model = new KerasCnn(seed: 1);
    var (hx, hy) = Batch(128);
    float before = model.Evaluate(hx, hy);
    var losses = new List<float>();
    for (int step = 0; step < 60; step++)
    {
        var (x, y) = Batch(32);
        losses.Add(model.TrainStep(x, y));
    }
    Report("KerasCnn", before, model.Evaluate(hx, hy), losses);
    string path = Path.Combine(folder, "keras_cnn.onnx");
    model.ExportOnnx(path);
    using var session = new InferenceSession(path);
    Compare("KerasCnn", model.Forward(hx), session, ("images", hx));
}

// 3. A BERT-style classifier: does token 7 occur? Rows start with [CLS] (id 1) and end in 0 to 3 padding tokens (id 0),
// which the mask leaves out of the pooled mean.
{
    const int T = 12;
    (IntTensor, Tensor, IntTensor) Batch(int b, int t)
    {
        var tokens = new int[b * t];
        var mask = new float[b * t];
        var y = new int[b];
        for (int i = 0; i < b; i++)
        {
            int length = t - random.Next(4);
            tokens[i * t] = 1;
            for (int s = 0; s < length; s++) mask[i * t + s] = 1f;
            for (int s = 1; s < length; s++)
            {
                int id;
                do id = random.Next(2, 40); while (id == 7);
                tokens[i * t + s] = id;
            }
            y[i] = random.Next(2);
            if (y[i] == 1) tokens[i * t + random.Next(1, length)] = 7;
        }
        return (new IntTensor(tokens, b, t), new Tensor(mask, b, t), new IntTensor(y, b));
    }

    var model = new TinyBert(seed: 1);
    var (hx, hm, hy) = Batch(128, T);
    float before = model.Evaluate(hx, hm, hy);
    var losses = new List<float>();
    for (int step = 0; step < 60; step++)
    {
        var (x, m, y) = Batch(32, T);
        losses.Add(model.TrainStep(x, m, y));
    }
    Report("TinyBert", before, model.Evaluate(hx, hm, hy), losses);
    string path = Path.Combine(folder, "tiny_bert.onnx");
    model.ExportOnnx(path);
    using var session = new InferenceSession(path);
    var (x2, m2, _) = Batch(3, 7);
    Compare("TinyBert", model.Forward(hx, hm), session, ("tokens", hx), ("mask", hm));
    Compare("TinyBert", model.Forward(x2, m2), session, ("tokens", x2), ("mask", m2));
}

// 4. A small ResNet: horizontal or vertical stripes, at a random phase, under noise.
{
    (Tensor, IntTensor) Batch(int b)
    {
        var x = new float[b * 256];
        var y = new int[b];
        for (int i = 0; i < b; i++)
        {
            y[i] = random.Next(2);
            int phase = random.Next(4);
            for (int r = 0; r < 16; r++)
            for (int c = 0; c < 16; c++)
                x[i * 256 + r * 16 + c] = (((y[i] == 0 ? r : c) + phase) % 4 < 2 ? 1f : 0f) + 0.3f * Uniform();
        }
        return (new Tensor(x, b, 1, 16, 16), new IntTensor(y, b));
    }

    var model = new SmallResNet(seed: 1);
    var (hx, hy) = Batch(64);
    float before = model.Evaluate(hx, hy);
    var losses = new List<float>();
    for (int step = 0; step < 40; step++)
    {
        var (x, y) = Batch(16);
        losses.Add(model.TrainStep(x, y));
    }
    Report("SmallResNet", before, model.Evaluate(hx, hy), losses);
    string path = Path.Combine(folder, "small_resnet.onnx");
    model.ExportOnnx(path);
    using var session = new InferenceSession(path);
    Compare("SmallResNet", model.Forward(hx), session, ("images", hx));
}

// 5. An autoencoder: 64 features that are a smooth function of 8 hidden ones.
{
    var projection = new float[8 * 64];
    for (int i = 0; i < projection.Length; i++) projection[i] = Uniform();
    (Tensor, Tensor) Batch(int b)
    {
        var x = new float[b * 64];
        var z = new float[8];
        for (int i = 0; i < b; i++)
        {
            for (int k = 0; k < 8; k++) z[k] = Uniform();
            for (int j = 0; j < 64; j++)
            {
                float sum = 0;
                for (int k = 0; k < 8; k++) sum += z[k] * projection[k * 64 + j];
                x[i * 64 + j] = MathF.Tanh(sum);
            }
        }
        return (new Tensor(x, b, 64), new Tensor((float[])x.Clone(), b, 64));
    }

    var model = new AutoEncoder(seed: 1);
    var (hx, ht) = Batch(128);
    float before = model.Evaluate(hx, ht);
    var losses = new List<float>();
    for (int step = 0; step < 150; step++)
    {
        var (x, t) = Batch(32);
        losses.Add(model.TrainStep(x, t));
    }
    Report("AutoEncoder", before, model.Evaluate(hx, ht), losses);
    string path = Path.Combine(folder, "autoencoder.onnx");
    model.ExportOnnx(path);
    using var session = new InferenceSession(path);
    Compare("AutoEncoder", model.Forward(hx), session, ("x", hx));
}

// 6. A GPT variant: arithmetic sequences modulo 24 with a step of 1, 2 or 3; the next token follows from the last two.
{
    const int T = 16;
    (IntTensor, IntTensor) Batch(int b, int t)
    {
        var idx = new int[b * t];
        var targets = new int[b * t];
        for (int i = 0; i < b; i++)
        {
            int start = random.Next(24), stride = 1 + random.Next(3);
            for (int s = 0; s < t; s++)
            {
                idx[i * t + s] = (start + s * stride) % 24;
                targets[i * t + s] = (start + (s + 1) * stride) % 24;
            }
        }
        return (new IntTensor(idx, b, t), new IntTensor(targets, b, t));
    }

    var model = new TinyGpt(seed: 1);
    var (hx, hy) = Batch(64, T);
    float before = model.Evaluate(hx, hy);
    var losses = new List<float>();
    for (int step = 0; step < 60; step++)
    {
        var (x, y) = Batch(32, T);
        losses.Add(model.TrainStep(x, y));
    }
    Report("TinyGpt", before, model.Evaluate(hx, hy), losses);
    string path = Path.Combine(folder, "tiny_gpt.onnx");
    model.ExportOnnx(path);
    using var session = new InferenceSession(path);
    var (x2, _) = Batch(2, 9);
    Compare("TinyGpt", model.Forward(hx), session, ("idx", hx));
    Compare("TinyGpt", model.Forward(x2), session, ("idx", x2));
}

return 0;

float Uniform() => (float)(random.NextDouble() * 2 - 1);

static void Report(string name, float before, float after, List<float> losses) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"trained {name} held-out {before:R} -> {after:R} steps {losses.Count} finite {losses.All(float.IsFinite)}"));

// ONNX Runtime on the same input as Forward; the largest difference relative to the output's scale.
static void Compare(string name, Tensor forward, InferenceSession session, params (string Input, object Value)[] inputs)
{
    float[] expected = forward.Span.ToArray();
    var values = inputs.Select(input => input.Value switch
    {
        Tensor f => NamedOnnxValue.CreateFromTensor(input.Input, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(f.Span.ToArray(), f.Shape)),
        IntTensor i => NamedOnnxValue.CreateFromTensor(input.Input, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<int>(i.Span.ToArray(), i.Shape)),
        _ => throw new ArgumentException("not a tensor", nameof(inputs)),
    }).ToList();
    using var results = session.Run(values);
    float[] actual = results[0].AsTensor<float>().ToArray();
    double scale = Math.Max(1e-6, expected.Max(Math.Abs));
    double difference = actual.Length != expected.Length ? double.PositiveInfinity
        : expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"onnx {name} [{string.Join(",", forward.Shape)}] {actual.Length} values, max relative difference {difference:E2}"));
}
