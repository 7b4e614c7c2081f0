using System;
using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary><c>init pattern initialiser</c>: parsing, which parameters each statement reaches, resolved arguments, diagnostics.</summary>
    public class InitStatementTests
    {
        private const string Gpt = @"config {
    V = 50
    d = 32
    context = 8
}
block Block(x, d, heads) {
    a = x -> layer_norm -> attention(heads, causal=true)
    r = x + a
    m = r -> layer_norm -> dense(4*d) -> gelu -> dense(d)
    return r + m
}
model G {
    input ids: i32[B, T]
    label y: i32[B, T]
    tok = embedding(ids, V, d)
    h = tok -> positional(context) -> repeat 2 Block(d, 4) -> layer_norm
    logits = h -> dense(V)
    output logits
    loss cross_entropy(logits, y)
    optimizer adamw(lr=3e-4)
";

        private static ModelGraph Check(string inits) => ShapeInferenceTests.Check(Gpt + inits + "}\n");

        [Fact]
        public void Later_statements_override_earlier_ones_and_unmatched_parameters_keep_their_default()
        {
            var g = Check("    init * normal(0, 0.02)\n    init *.bias zeros\n    init h.2.weight ones\n");
            var byName = g.Parameters.ToDictionary(p => p.Name);
            Assert.All(g.Parameters, p => Assert.NotNull(p.Declared));
            var head = byName["logits.weight"];
            Assert.Equal(InitFunction.Normal, head.Declared!.Function);
            Assert.Equal((0.0, 0.02), (head.Declared.A, head.Declared.B));
            Assert.Equal("normal(0, 0.02)", head.Declared.Source);
            Assert.Equal(InitFunction.Constant, byName["logits.bias"].Declared!.Function);
            Assert.Equal(0.0, byName["logits.bias"].Declared!.A);
            Assert.Equal((InitFunction.Constant, 1.0), (byName["h.2.weight"].Declared!.Function, byName["h.2.weight"].Declared!.A));

            // Without a matching statement a parameter keeps its op's initialiser.
            var partial = Check("    init logits.weight normal(0, 0.02)\n");
            Assert.Single(partial.Parameters, p => p.Declared is not null);
            Assert.Null(partial.Parameters.First(p => p.Name == "tok.weight").Declared);
        }

        [Fact]
        public void Star_matches_across_dots_and_the_rest_is_literal()
        {
            var g = Check("    init h.*.weight normal(0, 0.02)\n");
            var matched = g.Parameters.Where(p => p.Declared is not null).Select(p => p.Name).ToList();
            Assert.NotEmpty(matched);
            Assert.All(matched, n => Assert.True(n.StartsWith("h.", StringComparison.Ordinal) && n.EndsWith(".weight", StringComparison.Ordinal), n));
            Assert.DoesNotContain(g.Parameters, p => p.Declared is null && p.Name.StartsWith("h.", StringComparison.Ordinal) && p.Name.EndsWith(".weight", StringComparison.Ordinal));
            Assert.DoesNotContain("h.1.0.a.1.in_proj_weight", matched); // "in_proj_weight" does not end in ".weight"
            Assert.Contains("h.1.0.a.1.out_proj.weight", matched);
        }

        [Fact]
        public void Fans_follow_pytorch_and_kaiming_gain_follows_the_nonlinearity()
        {
            var g = Check("    init *in_proj_weight xavier_uniform\n    init logits.weight kaiming_normal(mode=\"fan_out\", nonlinearity=\"relu\")\n    init tok.weight kaiming_uniform(a=0.2)\n");
            var qkv = g.Parameters.First(p => p.Name.EndsWith("in_proj_weight", StringComparison.Ordinal)).Declared!;
            Assert.Equal((32L, 96L, 1.0), (qkv.FanIn, qkv.FanOut, qkv.A));
            var head = g.Parameters.First(p => p.Name == "logits.weight").Declared!;
            Assert.Equal(InitFunction.KaimingNormal, head.Function);
            Assert.Equal(50L, head.Fan); // [V, d]: fan_out = V
            Assert.Equal(Math.Sqrt(2.0), head.A, 15);
            var tok = g.Parameters.First(p => p.Name == "tok.weight").Declared!;
            Assert.Equal(32L, tok.Fan); // [V, d]: fan_in = d, as torch computes it for any 2-D tensor
            Assert.Equal(Math.Sqrt(2.0 / (1 + 0.2 * 0.2)), tok.A, 15); // leaky_relu by default, slope a
        }

        [Fact]
        public void Init_is_not_reserved()
        {
            var g = ShapeInferenceTests.Check("model M {\n    input x: f32[B, 4]\n    init = x -> dense(3)\n    init init.weight ones\n    output init\n}");
            Assert.Equal(InitFunction.Constant, g.Parameters.First(p => p.Name == "init.weight").Declared!.Function);
        }

        [Fact]
        public void MDL0121_unknown_initialiser()
        {
            var d = AnnotatedText.AssertDiagnostics(Gpt + "    init *.weight ⟦nromal⟧(0, 0.02)\n}\n", "MDL0121");
            Assert.Contains("'nromal' is not an initialiser; did you mean 'normal'?", d[0].Message);
            Assert.Contains("kaiming_uniform", d[0].Message);
        }

        [Fact]
        public void MDL0122_pattern_matching_nothing()
        {
            var d = AnnotatedText.AssertDiagnostics(Gpt + "    init ⟦logits.wieght⟧ zeros\n    init ⟦h.*.gamma⟧ ones\n}\n", "MDL0122", "MDL0122");
            Assert.Contains("init pattern 'logits.wieght' matches no parameter of model 'G'; did you mean 'logits.weight'?", d[0].Message);
            Assert.Contains("its parameters: tok.weight, ", d[1].Message);
        }

        [Fact]
        public void MDL0122_waits_for_a_clean_body_but_the_initialiser_is_still_checked()
        {
            // The dense layer fails (an undefined size), so its parameters never exist: no MDL0122 for them, but
            // the unknown initialiser on the same statement is independent and reported in the same pass.
            var d = AnnotatedText.AssertDiagnostics("model M {\n    input x: f32[B, 4]\n    label y: f32[B, 3]\n    h = x -> dense(⟦sise⟧)\n    init h.weight ⟦zero⟧\n    output h\n    loss mse(h, y)\n    optimizer sgd(lr=0.1)\n}", "MDL0100", "MDL0121");
            Assert.Contains("did you mean 'zeros'?", d[1].Message);
        }

        [Fact]
        public void MDL0320_fans_of_a_one_dimensional_parameter()
        {
            var d = AnnotatedText.AssertDiagnostics(Gpt + "    init ⟦logits.*⟧ xavier_uniform(gain=2)\n}\n", "MDL0320");
            Assert.Contains("xavier_uniform computes fan-in and fan-out from a parameter of rank 2 or more, but 'logits.bias' is [50]", d[0].Message);
        }

        [Fact]
        public void Bad_arguments_are_located_on_the_argument()
        {
            var d = AnnotatedText.AssertDiagnostics(Gpt +
                "    init *.weight normal(0, ⟦-1⟧)\n" +
                "    init *.weight uniform(1, ⟦0.5⟧)\n" +
                "    init *.weight kaiming_uniform(mode=⟦\"fan_avg\"⟧)\n" +
                "    init *.weight kaiming_normal(nonlinearity=⟦\"swish\"⟧)\n" +
                "    init *.weight normal(0, 0.02, ⟦3⟧)\n" +
                "    init *.weight normal(⟦sd⟧=0.02)\n" +
                "    init *.bias ⟦constant()⟧\n}\n",
                "MDL0108", "MDL0108", "MDL0107", "MDL0107", "MDL0105", "MDL0103", "MDL0104");
            Assert.Contains("std", d[0].Message);
            Assert.Contains("at least a (1)", d[1].Message);
            Assert.Contains("\"fan_in\" or \"fan_out\"", d[2].Message);
            Assert.Contains("\"relu\"", d[3].Message);
        }

        [Fact]
        public void MDL0210_init_in_a_block()
        {
            AnnotatedText.AssertDiagnostics("block B(x) {\n    h = x -> dense(4)\n    ⟦init h.weight zeros⟧\n    return h\n}\nmodel M {\n    input x: f32[B, 4]\n    label y: f32[B, 4]\n    out = x -> B\n    output out\n    loss mse(out, y)\n    optimizer sgd(lr=0.1)\n}", "MDL0210");
        }
    }
}
