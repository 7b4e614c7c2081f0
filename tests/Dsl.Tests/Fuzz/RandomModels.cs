using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ModelDsl.Dsl.Tests.Fuzz
{
    /// <summary>
    /// Random models built to pass the checker, for the check-versus-build agreement test (every model the checker
    /// accepts must generate C# that compiles). Unlike <see cref="FuzzInputs"/>, which mutates text until it breaks,
    /// these stay well-formed and aim at what the back end must survive: every op of the catalogue on the shapes it
    /// takes, blocks and repeats, names that are C# keywords or members of the generated class, Unicode names, and sizes
    /// at and past 32-bit limits (those the checker must refuse with a located diagnostic). Seeded and deterministic.
    /// </summary>
    internal static class RandomModels
    {
        /// <summary>Names a C# emitter could trip on: keywords, contextual keywords, generated members, runtime types.</summary>
        internal static readonly string[] HostileNames =
        {
            "class", "int", "float", "void", "this", "base", "namespace", "object", "string", "event", "operator", "params",
            "out", "in", "ref", "new", "return_", "checked", "fixed", "lock", "default", "static", "public", "using", "if",
            "var", "record", "dynamic", "value", "get", "set", "async", "await", "yield", "nameof", "when", "where", "file",
            "required", "scoped", "global", "partial", "and", "or", "not", "with", "init", "field", "args", "_", "__", "_1",
            "Forward", "Predict", "TrainStep", "Step", "Parameters", "Description", "ParameterCount", "Seed", "Save", "Load",
            "LearningRate", "Output", "Training", "Dispose", "ToString", "GetType", "Equals", "Tensor", "Span", "Math",
            "w", "i", "c", "r", "rows", "cols", "loss", "seed", "step", "caller", "dim_B", "Sgemm", "Workspace", "System",
            "éa", "Ω", "日本", "x1", "h", "B", "T",
        };

        private static readonly string[] PlainNames = { "h", "a", "z", "hidden", "feat", "logits", "mix", "res", "gate", "proj", "enc", "top" };

        /// <summary>Sizes at the edges of int and long; most must be refused by the checker, the rest must compile.</summary>
        internal static readonly long[] EdgeSizes =
        {
            46_341, 65_536, 1L << 24, 1L << 30, int.MaxValue / 4, int.MaxValue / 2, int.MaxValue - 1, int.MaxValue,
            1L << 31, 3_000_000_000, 1L << 32, 123_456_789_012, 1L << 40, 1L << 62, long.MaxValue,
        };

        private static readonly string[] Activations = { "relu", "gelu", "sigmoid", "tanh", "silu", "dropout(0.1)", "softmax", "layer_norm", "leaky_relu(negative_slope=0.2)", "elu", "gelu(approximate=\"tanh\")" };

        public static IEnumerable<(string Name, string Text)> Generate(int seed, int count)
        {
            var random = new Random(seed);
            for (int i = 0; i < count; i++) yield return ($"random model seed={seed} #{i}", new Builder(random, i).Build());
        }

        private sealed class Builder
        {
            private readonly Random _r;
            private readonly int _index;
            private readonly StringBuilder _config = new StringBuilder();
            private readonly StringBuilder _blocks = new StringBuilder();
            private readonly StringBuilder _body = new StringBuilder();
            private readonly HashSet<string> _used = new HashSet<string>(StringComparer.Ordinal);
            private int _constants;

            public Builder(Random random, int index)
            {
                _r = random;
                _index = index;
            }

            private bool Chance(int percent) => _r.Next(100) < percent;

            private T Pick<T>(IReadOnlyList<T> items) => items[_r.Next(items.Count)];

            /// <summary>A small size, now and then an edge size (written as a literal or through a config constant).</summary>
            private string Size(int small)
            {
                long value = Chance(6) ? Pick(EdgeSizes) : _r.Next(1, small + 1);
                return Chance(30) ? Constant(value) : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            private string Constant(long value)
            {
                string name = "k" + (_constants++);
                _config.Append($"    {name} = {value}\n");
                return name;
            }

            /// <summary>A fresh binding name: plain, hostile, or plain with a number; never one used already.</summary>
            private string Fresh()
            {
                for (int attempt = 0; ; attempt++)
                {
                    string name = Chance(35) ? Pick(HostileNames) : Pick(PlainNames) + (attempt == 0 && Chance(50) ? "" : _r.Next(100).ToString());
                    if (name is "B" or "T" or "x") continue;
                    if (_used.Add(name)) return name;
                }
            }

            /// <summary>Model names unique per index (so many models can share one compilation), some built on hostile names.</summary>
            private string ModelName()
            {
                if (!Chance(30)) return "M" + _index;
                string hostile = Pick(HostileNames);
                return hostile + "_" + _index;
            }

            public string Build()
            {
                string name = Chance(4) ? Pick(HostileNames) : ModelName();
                string input;
                string current = "x";
                // Shapes tracked as text dims after B; the last one is the feature size.
                var dims = new List<string>();
                int kind = _r.Next(4);
                bool tokens = kind == 3;
                switch (kind)
                {
                    case 0: dims.Add(Size(9)); break;                                         // [B, F]
                    case 1: dims.Add(Chance(50) ? "T" : Size(5)); dims.Add(Size(9)); break;  // [B, T, F]
                    case 2: dims.Add(Size(3)); dims.Add((6 + _r.Next(5)).ToString()); dims.Add((6 + _r.Next(5)).ToString()); break; // [B, C, H, W]
                    default: dims.Add(Chance(50) ? "T" : Size(5)); break;                     // i32 [B, T]
                }
                input = $"    input x: {(tokens ? "i32" : "f32")}[B, {string.Join(", ", dims)}]\n";
                _used.Add("x");

                if (tokens)
                {
                    string vocab = Size(20), d = Size(8);
                    string e = Fresh();
                    _body.Append($"    {e} = embedding(x, {vocab}, {d})\n");
                    dims.Add(d);
                    current = e;
                    if (Chance(40) && dims[0] != "T")
                    {
                        string p = Fresh();
                        _body.Append($"    {p} = {current} -> positional({dims[0]})\n");
                        current = p;
                    }
                }

                int statements = 1 + _r.Next(4);
                for (int s = 0; s < statements; s++) current = Statement(current, dims);

                if (dims.Count == 2 && Chance(35))
                {
                    // A sequence [B, T, F] pooled to [B, F]: its first ([CLS]) or last position, or a reduction over T.
                    string pooled = Fresh();
                    string how = Pick(new[] { "select(axis=1, index=0)", "select(1, -1)", "slice(1, start=-1) -> select(1, 0)", "slice(axis=1, start=0, end=1) -> select(1, -1)",
                        "mean(axis=1)", "slice(1, start=-1) -> sum(1)", "max(axis=1)", "slice(axis=1, start=0, end=1) -> mean(1, keepdim=true) -> select(1, 0)" });
                    _body.Append($"    {pooled} = {current} -> {how}\n");
                    current = pooled;
                    dims.RemoveAt(0);
                }

                // A final projection to the outputs, then a loss that fits.
                string outputs = Size(5);
                string output = Fresh();
                if (dims.Count == 3)
                {
                    // Images: flatten, or pool each channel to one value, first.
                    _body.Append($"    {output} = {current} -> {Pick(new[] { "flatten", "flatten", "global_avg_pool2d", "global_max_pool2d" })} -> dense({outputs})\n");
                    dims.Clear();
                    dims.Add(outputs);
                }
                else
                {
                    _body.Append($"    {output} = {current} -> dense({outputs})\n");
                    dims[dims.Count - 1] = outputs;
                }
                _body.Append($"    output {output}\n");
                string lead = string.Join(", ", new[] { "B" }.Concat(dims.Take(dims.Count - 1)));
                string full = string.Join(", ", new[] { "B" }.Concat(dims));
                string label = Fresh();
                switch (_r.Next(4))
                {
                    case 0: _body.Append($"    label {label}: f32[{full}]\n    loss mse({output}, {label})\n"); break;
                    case 1: _body.Append($"    label {label}: f32[{full}]\n    loss bce_with_logits({output}, {label})\n"); break;
                    case 2: _body.Append($"    label {label}: i32[{lead}]\n    loss cross_entropy({output}, {label})\n"); break;
                    default: break;   // no loss: a warning, inference only
                }
                if (!Chance(10))
                {
                    _body.Append("    optimizer " + Pick(new[] { "sgd(lr=0.1, momentum=0.9)", "adam()", "adamw(lr=1e-3, weight_decay=0.1)", "sgd(lr=0.01, nesterov=true, momentum=0.5)" }) + "\n");
                }

                var text = new StringBuilder();
                if (_config.Length > 0) text.Append("config {\n").Append(_config).Append("}\n");
                text.Append(_blocks);
                text.Append($"model {name} {{\n").Append(input).Append(_body).Append("}\n");
                return text.ToString();
            }

            /// <summary>One binding over <paramref name="current"/>; updates <paramref name="dims"/> to its output shape.</summary>
            private string Statement(string current, List<string> dims)
            {
                string target = Fresh();
                string expression;
                if (dims.Count == 3)
                {
                    // [B, C, H, W]: convolutions and pooling keep the image small enough to stay valid.
                    switch (_r.Next(4))
                    {
                        case 0:
                            string channels = Size(4);
                            // batch_norm after a conv without bias, as in a ResNet (a bias before it has no gradient).
                            expression = Chance(30)
                                ? $"{current} -> conv2d({channels}, kernel={1 + _r.Next(3)}, padding=1, bias=false) -> batch_norm{(Chance(30) ? "(momentum=0.2, affine=false)" : "")} -> {Pick(Activations.Take(5).ToArray())}"
                                : $"{current} -> conv2d({channels}, kernel={1 + _r.Next(3)}, padding=1{(Chance(30) ? ", bias=false" : "")}) -> {Pick(Activations.Take(5).ToArray())}";
                            dims[0] = channels;
                            dims[1] = "?"; dims[2] = "?";   // spatial sizes no longer tracked: only flatten or conv/pool follow
                            break;
                        case 1:
                            expression = $"{current} -> {Pick(new[] { "max_pool2d", "avg_pool2d" })}(kernel=2, stride=1)";
                            dims[1] = "?"; dims[2] = "?";
                            break;
                        case 2:
                            // Through channels-last and back: the shape is unchanged.
                            expression = Chance(50) ? $"{current} -> permute(0, 2, 3, 1) -> relu -> permute(0, 3, 1, 2)" : $"{current} -> relu";
                            break;
                        default:
                            expression = $"{current} -> flatten -> dense({Size(9)})";
                            string units = expression.Substring(expression.LastIndexOf('(') + 1).TrimEnd(')');
                            dims.Clear();
                            dims.Add(units);
                            break;
                    }
                    _body.Append($"    {target} = {expression}\n");
                    return target;
                }

                string feature = dims[dims.Count - 1];
                switch (_r.Next(dims.Count == 2 ? 11 : 8))
                {
                    case 0:
                    case 1:
                        string units = Size(9);
                        expression = $"{current} -> dense({units}{(Chance(20) ? ", bias=false" : "")}) -> {Pick(Activations)}";
                        dims[dims.Count - 1] = units;
                        break;
                    case 2:
                        expression = $"{current} + {current} -> {Pick(Activations)}";
                        break;
                    case 3:
                        expression = $"{current} * ({current} -> sigmoid)";
                        break;
                    case 4:
                        expression = $"concat({current}, {current}, axis=-1)";
                        dims[dims.Count - 1] = long.TryParse(feature, out long f) ? (2 * f).ToString() : $"2*{feature}";
                        break;
                    case 5:
                        expression = $"{current} -> {Pick(Activations)} -> {Pick(Activations)}";
                        break;
                    case 6:
                        // A block repeated: its own parameters per repetition.
                        string block = "Blk" + _r.Next(1000);
                        if (!_blocks.ToString().Contains($"block {block}("))
                            _blocks.Append($"block {block}(v, n) {{\n    {Pick(HostileNames.Where(h => h != "v" && h != "n").ToArray())} = v -> dense(n) -> {Pick(Activations)}\n    return v + (v -> dense(n))\n}}\n");
                        expression = $"{current} -> repeat {1 + _r.Next(3)} {block}({feature})";
                        break;
                    case 7:
                        // [B, F]: batch_norm over the features as channels (after a tanh: a bias reaching it through linear ops
                        // only would have a zero gradient, which Adam turns into full steps of float noise), or layer_norm.
                        expression = dims.Count == 1 && Chance(50) ? $"{current} -> tanh -> batch_norm -> dropout(0.2)" : $"{current} -> layer_norm -> dropout(0.2)";
                        break;
                    case 8:
                        // A reshape to the same [B, T, F] (a view of the sequence, T symbolic or not); attention or an
                        // LSTM may replace it below.
                        expression = $"{current} -> reshape([B, {dims[0]}, {feature}]) -> {Pick(Activations)}";
                        break;
                    case 9:
                        expression = $"{current} -> softmax(axis=-1)";
                        break;
                    default:
                        expression = $"{current} -> dense({feature}) -> tanh";
                        break;
                }
                if (dims.Count == 2 && Chance(40))
                {
                    // Sequences: attention (width divisible by heads), an LSTM or a GRU.
                    if (Chance(50))
                    {
                        string width = (4 * (1 + _r.Next(3))).ToString();
                        expression = $"{current} -> dense({width}) -> attention({(Chance(50) ? 2 : 4)}, causal={(Chance(50) ? "true" : "false")})";
                        dims[1] = width;
                    }
                    else
                    {
                        // bidirectional: a literal hidden size, so the output's 2·hidden is a literal too.
                        bool bidirectional = Chance(30);
                        string hidden = bidirectional ? _r.Next(1, 5).ToString(System.Globalization.CultureInfo.InvariantCulture) : Size(6);
                        string width = bidirectional ? (2 * int.Parse(hidden, System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture) : hidden;
                        bool sequences = Chance(60);
                        string recurrent = Chance(50) ? "lstm" : "gru";
                        expression = $"{current} -> {recurrent}({hidden}, return_sequences={(sequences ? "true" : "false")}{(bidirectional ? ", bidirectional=true" : "")})";
                        if (sequences) dims[1] = width;
                        else
                        {
                            dims.Clear();
                            dims.Add(width);
                        }
                    }
                }
                _body.Append($"    {target} = {expression}\n");
                return target;
            }
        }
    }
}
