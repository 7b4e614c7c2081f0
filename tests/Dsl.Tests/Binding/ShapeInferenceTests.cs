using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>Shape rules per op, checked through source text: the output shape and the parameters declared.</summary>
    public class ShapeInferenceTests
    {
        internal static ModelGraph Check(string source)
        {
            var result = Compilation.Compile("test.model", source);
            Assert.True(!result.HasErrors, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            return Assert.Single(result.Models);
        }

        /// <summary>A model with one input and the given body; returns the shape of <c>out</c>.</summary>
        private static ModelGraph Run(string input, string body, string config = "") =>
            Check(config + "model M {\n    input x: " + input + "\n" + body + "\n    output out\n}");

        private static string Shape(ModelGraph g) => g.Output.DType.ToString().ToLowerInvariant() + g.Output.Shape.ToExpression();

        [Fact]
        public void Dense_maps_the_last_axis()
        {
            var g = Run("f32[B, 784]", "    out = x -> dense(10)");
            Assert.Equal("f32[B, 10]", Shape(g));
            Assert.Equal(new[] { "out.weight [10, 784]", "out.bias [10]" }, g.Parameters.Select(p => p.ToString()));
            Assert.Equal(784, g.Parameters[0].FanIn);
            Assert.Equal(InitKind.KaimingUniform, g.Parameters[0].Init);
        }

        [Fact]
        public void Linear_is_an_alias_and_bias_can_be_dropped()
        {
            var g = Run("f32[B, T, 16]", "    out = linear(x, 4, bias=false)");
            Assert.Equal("f32[B, T, 4]", Shape(g));
            Assert.Equal(OpKind.Dense, g.Nodes.Single().Kind);
            Assert.Equal("out.weight [4, 16]", g.Parameters.Single().ToString());
        }

        [Fact]
        public void Conv_and_pool_arithmetic()
        {
            var g = Run("f32[B, 3, 32, 32]", "    out = x -> conv2d(16, kernel=5, stride=2, padding=1) -> max_pool2d(3, stride=2) -> avg_pool2d((2, 2))");
            // conv: (32 + 2 - 5)/2 + 1 = 15; max pool: (15 - 3)/2 + 1 = 7; avg pool: (7 - 2)/2 + 1 = 3
            Assert.Equal("f32[B, 16, 3, 3]", Shape(g));
            Assert.Equal("out.0.weight [16, 3, 5, 5]", g.Parameters[0].ToString());
            Assert.Equal(75, g.Parameters[0].FanIn);
            Assert.Equal(new[] { 15L, 15L }, new[] { g.Nodes[0].Output.Shape[2].Value, g.Nodes[0].Output.Shape[3].Value });
        }

        [Fact]
        public void Conv_padding_same_keeps_height_and_width_even_symbolic_ones()
        {
            var g = Run("f32[B, 3, 28, 28]", "    out = x -> conv2d(8, 5, padding=\"same\") -> conv2d(4, 3, padding=\"valid\")");
            Assert.Equal("f32[B, 4, 26, 26]", Shape(g));
            Assert.Equal(new ModelDsl.Ops.Conv2dAttributes(8, 5, 1, 2, true), g.Nodes[0].Attributes);
            Assert.Equal(new ModelDsl.Ops.Conv2dAttributes(4, 3, 1, 0, true), g.Nodes[1].Attributes);
            Assert.Equal("f32[B, 8, H, W]", Shape(Run("f32[B, 3, H, W]", "    out = x -> conv2d(8, (3, 3), stride=1, padding=\"same\")")));
        }

        [Fact]
        public void Gelu_is_exact_by_default_and_takes_the_tanh_form_by_name()
        {
            var g = Run("f32[B, 3]", "    out = x -> gelu -> gelu(approximate=\"tanh\") -> gelu(approximate=\"none\")");
            Assert.Equal("f32[B, 3]", Shape(g));
            Assert.Equal(new ModelDsl.Ops.GeluAttributes("none"), g.Nodes[0].Attributes);
            Assert.Equal(new ModelDsl.Ops.GeluAttributes("tanh"), g.Nodes[1].Attributes);
            Assert.Equal(new ModelDsl.Ops.GeluAttributes("none"), g.Nodes[2].Attributes);
            Assert.Equal("approximate=\"tanh\"", string.Join(", ", g.Nodes[1].Attributes.Describe().Select(p => p.Key + "=" + p.Value)));
        }

        [Fact]
        public void Global_pooling_reduces_any_spatial_size_to_one_value_per_channel()
        {
            var g = Run("f32[B, 3, H, W]", "    out = x -> conv2d(8, 3, padding=\"same\") -> global_avg_pool2d");
            Assert.Equal("f32[B, 8]", Shape(g));
            Assert.Equal(ModelDsl.Ops.NoAttributes.Instance, g.Nodes[1].Attributes);
            Assert.Equal("f32[B, 3]", Shape(Run("f32[B, 3, 5, 7]", "    out = x -> global_max_pool2d")));
        }

        [Fact]
        public void Select_drops_the_axis_and_slice_keeps_a_range_of_it()
        {
            var g = Run("f32[B, T, 8]", "    out = x -> select(axis=1, index=0)");
            Assert.Equal("f32[B, 8]", Shape(g));
            Assert.Equal(new ModelDsl.Ops.SelectAttributes(1, 0), g.Nodes[0].Attributes);
            Assert.Equal("f32[B, T]", Shape(Run("f32[B, T, 8]", "    out = x -> select(-1, -8)")));
            var s = Run("f32[B, 10, 8]", "    out = x -> slice(axis=1, start=2, end=-3)");
            Assert.Equal("f32[B, 5, 8]", Shape(s));
            Assert.Equal(new ModelDsl.Ops.SliceAttributes(1, 2, -3), s.Nodes[0].Attributes);
            Assert.Equal(new ModelDsl.Ops.SliceAttributes(2, -3, null), Run("f32[B, T, 8]", "    out = x -> slice(-1, -3)").Nodes[0].Attributes);
            // A symbolic axis: bounds of one sign give a constant length (checked at run time), the whole axis keeps T.
            Assert.Equal("f32[B, 4, 8]", Shape(Run("f32[B, T, 8]", "    out = x -> slice(axis=1, start=0, end=4)")));
            Assert.Equal("f32[B, 2, 8]", Shape(Run("f32[B, T, 8]", "    out = x -> slice(axis=1, start=-3, end=-1)")));
            Assert.Equal("f32[B, 3, 8]", Shape(Run("f32[B, T, 8]", "    out = x -> slice(axis=1, start=-3)")));
            Assert.Equal("f32[B, T, 8]", Shape(Run("f32[B, T, 8]", "    out = x -> slice(axis=1)")));
        }

        [Fact]
        public void Reductions_drop_or_keep_the_axis_and_take_a_mask_of_the_leading_axes()
        {
            var g = Run("f32[B, T, 8]", "    out = x -> mean(axis=1)");
            Assert.Equal("f32[B, 8]", Shape(g));
            Assert.Equal(new ModelDsl.Ops.ReduceAttributes(1, false), g.Nodes[0].Attributes);
            Assert.Equal("f32[B, 1, 8]", Shape(Run("f32[B, T, 8]", "    out = x -> sum(1, keepdim=true)")));
            Assert.Equal("f32[B, T]", Shape(Run("f32[B, T, 8]", "    out = x -> max(axis=-1)")));
            // mean pooling over real tokens: the mask is the node's second input
            var m = Check("model M {\n    input x: f32[B, T, 8]\n    input m: i32[B, T]\n    out = x -> mean(axis=1, mask=m)\n    output out\n}");
            Assert.Equal("f32[B, 8]", Shape(m));
            Assert.Equal(2, m.Nodes[0].Inputs.Count);
            Assert.Equal("m", m.Nodes[0].Inputs[1].Name);
        }

        [Fact]
        public void Permute_reorders_the_axes()
        {
            var g = Run("f32[B, H, W, 3]", "    out = x -> permute(0, 3, 1, 2)");
            Assert.Equal("f32[B, 3, H, W]", Shape(g));
            Assert.Equal(new ModelDsl.Ops.PermuteAttributes(new long[] { 0, 3, 1, 2 }), g.Nodes[0].Attributes);
            Assert.Equal("f32[B, 4, T]", Shape(Run("f32[B, T, 4]", "    out = x -> permute(0, -1, 1)")));
        }

        [Fact]
        public void Flatten_merges_trailing_axes_including_symbolic_ones()
        {
            Assert.Equal("f32[B, 3136]", Shape(Run("f32[B, 64, 7, 7]", "    out = x -> flatten")));
            Assert.Equal("f32[B, 4*T]", Shape(Run("f32[B, T, 4]", "    out = x -> flatten")));
        }

        [Fact]
        public void Reshape_infers_minus_one_and_uses_config_and_symbols()
        {
            var g = Run("f32[B, T, d]", "    out = x -> reshape([B, T, heads, -1])", "config { d = 128  heads = 4 }\n");
            Assert.Equal("f32[B, T, 4, 32]", Shape(g));
        }

        [Fact]
        public void Embedding_and_positional()
        {
            var g = Run("i32[B, T]", "    e = embedding(x, 100, 32)\n    out = e -> positional(64)");
            Assert.Equal("f32[B, T, 32]", Shape(g));
            Assert.Equal(new[] { "e.weight [100, 32]", "out.weight [64, 32]" }, g.Parameters.Select(p => p.ToString()));
        }

        [Fact]
        public void Gru_last_state_or_sequences()
        {
            var g = Run("f32[B, T, 64]", "    out = x -> gru(128)");
            Assert.Equal("f32[B, 128]", Shape(g));
            Assert.Equal(new[] { "out.weight_ih [384, 64]", "out.weight_hh [384, 128]", "out.bias_ih [384]", "out.bias_hh [384]" }, g.Parameters.Select(p => p.ToString()));
            Assert.Equal("f32[B, T, 8]", Shape(Run("f32[B, T, 64]", "    out = x -> gru(8, return_sequences=true)")));
        }

        /// <summary>
        /// bidirectional=true (nn.LSTM/nn.GRU(bidirectional=True)): output [B, 2h] or [B, T, 2h]; a second parameter set
        /// named as PyTorch's *_l0_reverse less the layer suffix, the forward set first (PyTorch's state_dict order).
        /// </summary>
        [Theory]
        [InlineData("lstm", 4)]
        [InlineData("gru", 3)]
        public void Bidirectional_lstm_and_gru_double_the_width_and_add_the_reverse_parameters(string op, int gates)
        {
            var g = Run("f32[B, T, 64]", $"    out = x -> {op}(16, bidirectional=true)");
            Assert.Equal("f32[B, 32]", Shape(g));
            int g16 = gates * 16;
            Assert.Equal(new[]
            {
                $"out.weight_ih [{g16}, 64]", $"out.weight_hh [{g16}, 16]", $"out.bias_ih [{g16}]", $"out.bias_hh [{g16}]",
                $"out.weight_ih_reverse [{g16}, 64]", $"out.weight_hh_reverse [{g16}, 16]", $"out.bias_ih_reverse [{g16}]", $"out.bias_hh_reverse [{g16}]",
            }, g.Parameters.Select(p => p.ToString()));
            var sequences = Run("f32[B, T, 64]", $"    out = x -> {op}(hidden=8, return_sequences=true, bidirectional=true)");
            Assert.Equal("f32[B, T, 16]", Shape(sequences));
            var node = sequences.Nodes.Single(n => n.Kind == (op == "lstm" ? OpKind.Lstm : OpKind.Gru));
            Assert.Equal(op == "lstm" ? new ModelDsl.Ops.LstmAttributes(8, true, true) : (ModelDsl.Ops.OpAttributes)new ModelDsl.Ops.GruAttributes(8, true, true), node.Attributes);
            // One direction stays as it was: no reverse set.
            Assert.DoesNotContain(Run("f32[B, T, 64]", $"    out = x -> {op}(8, bidirectional=false)").Parameters, p => p.Name.EndsWith("_reverse", System.StringComparison.Ordinal));
        }

        [Fact]
        public void Lstm_last_state_or_sequences()
        {
            var g = Run("f32[B, T, 64]", "    out = x -> lstm(128)");
            Assert.Equal("f32[B, 128]", Shape(g));
            Assert.Equal(new[] { "out.weight_ih [512, 64]", "out.weight_hh [512, 128]", "out.bias_ih [512]", "out.bias_hh [512]" }, g.Parameters.Select(p => p.ToString()));
            Assert.Equal("f32[B, T, 8]", Shape(Run("f32[B, T, 64]", "    out = x -> lstm(8, return_sequences=true)")));
        }

        [Fact]
        public void Attention_keeps_the_shape_and_declares_pytorch_parameters()
        {
            var g = Run("f32[B, T, 64]", "    out = x -> attention(8, causal=true)");
            Assert.Equal("f32[B, T, 64]", Shape(g));
            Assert.Equal(new[] { "out.in_proj_weight [192, 64]", "out.in_proj_bias [192]", "out.out_proj.weight [64, 64]", "out.out_proj.bias [64]" },
                g.Parameters.Select(p => p.ToString()));
            Assert.Equal(new ModelDsl.Ops.AttentionAttributes(Heads: 8, Causal: true, Bias: true, Dropout: 0), g.Nodes[0].Attributes);
            var dropped = Run("f32[B, T, 64]", "    out = x -> attention(8, dropout=0.1)");
            Assert.Equal("f32[B, T, 64]", Shape(dropped));
            Assert.Equal(new ModelDsl.Ops.AttentionAttributes(Heads: 8, Causal: false, Bias: true, Dropout: 0.1), dropped.Nodes[0].Attributes);
            Assert.Equal("heads=8, causal=false, bias=true, dropout=0.1", string.Join(", ", dropped.Nodes[0].Attributes.Describe().Select(p => p.Key + "=" + p.Value)));
        }

        [Theory]
        [InlineData("i32")]
        [InlineData("f32")]
        public void Attention_takes_a_key_padding_mask_as_its_second_input(string dtype)
        {
            var g = Check("model M {\n    input x: f32[B, T, 16]\n    input m: " + dtype + "[B, T]\n    out = x -> attention(4, mask=m, causal=true)\n    output out\n}");
            Assert.Equal("f32[B, T, 16]", Shape(g));
            var node = g.Nodes.Single();
            Assert.Equal(new[] { "x", "m" }, node.Inputs.Select(i => i.Name));
            Assert.Equal(new ModelDsl.Ops.AttentionAttributes(Heads: 4, Causal: true, Bias: true), node.Attributes);
            // the mask carries no gradient through attention, only x does
            Assert.True(ModelDsl.Ops.OpCatalog.Of(node).IsDifferentiable(0));
            Assert.False(ModelDsl.Ops.OpCatalog.Of(node).IsDifferentiable(1));
        }

        [Fact]
        public void Leaky_relu_and_elu_keep_the_shape_with_pytorch_defaults()
        {
            var g = Run("f32[B, 10]", "    out = x -> leaky_relu -> elu -> leaky_relu(negative_slope=0.2) -> elu(alpha=0.5)");
            Assert.Equal("f32[B, 10]", Shape(g));
            Assert.Empty(g.Parameters);
            Assert.Equal(new ModelDsl.Ops.LeakyReluAttributes(NegativeSlope: 0.01), g.Nodes[0].Attributes);
            Assert.Equal(new ModelDsl.Ops.EluAttributes(Alpha: 1.0), g.Nodes[1].Attributes);
            Assert.Equal(new ModelDsl.Ops.LeakyReluAttributes(NegativeSlope: 0.2), g.Nodes[2].Attributes);
            Assert.Equal(new ModelDsl.Ops.EluAttributes(Alpha: 0.5), g.Nodes[3].Attributes);
        }

        [Fact]
        public void Layer_norm_softmax_dropout_keep_the_shape()
        {
            var g = Run("f32[B, 10]", "    out = x -> layer_norm -> softmax -> dropout(0.5)");
            Assert.Equal("f32[B, 10]", Shape(g));
            Assert.Equal(new[] { "out.0.weight [10]", "out.0.bias [10]" }, g.Parameters.Select(p => p.ToString()));
            Assert.Equal(new ModelDsl.Ops.SoftmaxAttributes(Axis: -1 + 2), g.Nodes[1].Attributes);
            Assert.Equal(new ModelDsl.Ops.LayerNormAttributes(Eps: 1e-5), g.Nodes[0].Attributes);
            Assert.Equal(new ModelDsl.Ops.DropoutAttributes(P: 0.5), g.Nodes[2].Attributes);
        }

        /// <summary>batch_norm keeps the shape on [B, C], [B, C, L] and [N, C, H, W]; weight and bias are parameters, the running statistics layer state.</summary>
        [Fact]
        public void Batch_norm_keeps_the_shape_and_declares_its_state()
        {
            var g = Run("f32[B, 3, 8, 8]", "    out = x -> batch_norm(momentum=0.2)");
            Assert.Equal("f32[B, 3, 8, 8]", Shape(g));
            Assert.Equal(new ModelDsl.Ops.BatchNormAttributes(Momentum: 0.2, Eps: 1e-5, Affine: true), g.Nodes[0].Attributes);
            Assert.Equal(new[] { "out.weight [3]", "out.bias [3]" }, g.Parameters.Select(p => p.ToString()));
            Assert.Equal(new[] { "out.running_mean [3]", "out.running_var [3]", "out.num_batches_tracked []" }, g.States.Select(s => s.ToString()));
            Assert.Equal(new[] { false, false, true }, g.States.Select(s => s.IsCounter));
            Assert.Equal(new[] { 0f, 1f, 0f }, g.States.Select(s => s.Initial));

            g = Run("f32[B, 5, T]", "    out = x -> batch_norm(affine=false, eps=1e-3)");
            Assert.Equal("f32[B, 5, T]", Shape(g));
            Assert.Equal(new ModelDsl.Ops.BatchNormAttributes(Momentum: 0.1, Eps: 1e-3, Affine: false), g.Nodes[0].Attributes);
            Assert.Empty(g.Parameters);
            Assert.Equal(3, g.States.Count);

            g = Run("f32[B, 7]", "    out = x -> batch_norm");
            Assert.Equal("f32[B, 7]", Shape(g));
        }

        [Fact]
        public void Add_mul_and_concat()
        {
            var g = Run("f32[B, 4]", "    a = x + x\n    m = a * x\n    out = concat(m, x, axis=1)");
            Assert.Equal("f32[B, 8]", Shape(g));
            Assert.Equal(new[] { OpKind.Add, OpKind.Mul, OpKind.Concat }, g.Nodes.Select(n => n.Kind));
        }

        [Fact]
        public void Per_token_cross_entropy_over_B_T_V()
        {
            var g = Check("model M {\n    input idx: i32[B, T]\n    label y: i32[B, T]\n    out = embedding(idx, 50, 8) -> dense(50)\n    output out\n    loss cross_entropy(out, y)\n    optimizer sgd(lr=0.1)\n}");
            Assert.Equal(LossKind.CrossEntropy, g.Loss!.Kind);
            Assert.Equal("[B, T, 50]", g.Loss.Prediction.Shape.ToExpression());
            Assert.Equal("[B, T]", g.Loss.Target.Shape.ToExpression());
            Assert.Equal(new[] { "lr", "momentum", "weight_decay", "nesterov" }, g.Optimizer!.Hyperparameters.Select(h => h.Key));
        }

        [Theory]
        [InlineData("cross_entropy(out, y)", 0.0)]
        [InlineData("cross_entropy(out, y, label_smoothing=0.1)", 0.1)]
        [InlineData("cross_entropy(out, y, 0.25)", 0.25)]
        [InlineData("cross_entropy(out, y, label_smoothing=1)", 1.0)]
        public void Cross_entropy_label_smoothing_is_bound_with_its_default(string loss, double smoothing)
        {
            var g = Check($"model M {{\n    input idx: i32[B, T]\n    label y: i32[B, T]\n    out = embedding(idx, 50, 8) -> dense(50)\n    output out\n    loss {loss}\n    optimizer sgd(lr=0.1)\n}}");
            Assert.Equal(LossKind.CrossEntropy, g.Loss!.Kind);
            Assert.Equal(smoothing, g.Loss.LabelSmoothing);
        }

        [Fact]
        public void Chain_layer_paths_number_stages_and_single_calls_take_the_binding_name()
        {
            var g = Run("f32[B, 8]", "    fc1 = dense(x, 16)\n    h = fc1 -> dense(16) -> relu -> dense(4)\n    out = h");
            Assert.Equal(new[] { "fc1.weight", "fc1.bias", "h.0.weight", "h.0.bias", "h.2.weight", "h.2.bias" }, g.Parameters.Select(p => p.Name));
            Assert.Equal("h", g.Nodes.Last().Output.Name);
        }

        [Fact]
        public void Blocks_expand_with_arguments_and_defaults()
        {
            var g = Check("block Mlp(x, width, act = true) {\n    y = x -> dense(width)\n    return y -> dense(4)\n}\n" +
                          "model M {\n    input x: f32[B, 8]\n    out = x -> repeat 2 Mlp(16)\n    output out\n}");
            Assert.Equal(new[] { "out.0.y.weight", "out.0.y.bias", "out.0.weight", "out.0.bias", "out.1.y.weight", "out.1.y.bias", "out.1.weight", "out.1.bias" },
                g.Parameters.Select(p => p.Name));
            Assert.Equal("[B, 4]", g.Output.Shape.ToExpression());
        }
    }
}
