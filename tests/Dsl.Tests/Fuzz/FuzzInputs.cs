using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelDsl.Dsl.Tests.Fuzz
{
    /// <summary>
    /// Deterministic generators of hostile inputs: the example files mutated (deleted, duplicated, spliced and
    /// corrupted ranges, hostile tokens inserted) and inputs built from scratch (random tokens, random bytes,
    /// deep nesting, huge numbers, giant repeats). Seeded so a failure names an input that can be replayed.
    /// </summary>
    internal static class FuzzInputs
    {
        private static readonly string[] Tokens =
        {
            "model", "config", "block", "input", "label", "output", "loss", "optimizer", "return", "repeat", "true", "false",
            "{", "}", "(", ")", "[", "]", ",", ":", "=", "->", "+", "-", "*", "/", ".", ";", "//", "/*", "*/", "\n", " ",
            "x", "y", "h", "B", "T", "d", "heads", "dense", "relu", "conv2d", "attention", "lstm", "embedding", "reshape",
            "f32", "i32", "f64", "0", "1", "-1", "3.5", "1e-3", "1e400", "99999999999999999999999", "0.0", "1024", "10000",
            "cross_entropy", "adamw", "sgd", "tie", "tok.weight", "causal", "\u0000", "\uFFFD", "é", "\t",
        };

        /// <summary>The repository root (the folder holding ModelDsl.sln above the test output).</summary>
        public static string RepoRoot { get; } = FindRepoRoot();

        // Declared after RepoRoot: static initialisers run in text order.
        public static IReadOnlyList<string> ExampleTexts { get; } = LoadExamples();

        public static IEnumerable<(string Name, string Text)> Mutations(int seed, int count)
        {
            var random = new Random(seed);
            for (int i = 0; i < count; i++)
            {
                string source = ExampleTexts[random.Next(ExampleTexts.Count)];
                int rounds = 1 + random.Next(4);
                string text = source;
                for (int r = 0; r < rounds; r++) text = MutateOnce(text, random);
                yield return ($"mutation seed={seed} #{i}", text);
            }
        }

        public static IEnumerable<(string Name, string Text)> RandomTokenStreams(int seed, int count)
        {
            var random = new Random(seed);
            for (int i = 0; i < count; i++)
            {
                var sb = new StringBuilder();
                int length = random.Next(1, 200);
                for (int t = 0; t < length; t++) sb.Append(Tokens[random.Next(Tokens.Length)]).Append(random.Next(3) == 0 ? "" : " ");
                yield return ($"tokens seed={seed} #{i}", sb.ToString());
            }
        }

        public static IEnumerable<(string Name, string Text)> RandomBytes(int seed, int count)
        {
            var random = new Random(seed);
            for (int i = 0; i < count; i++)
            {
                var bytes = new byte[random.Next(0, 4096)];
                random.NextBytes(bytes);
                // Decoded the way the CLI and the compiler decode: invalid sequences become U+FFFD.
                yield return ($"bytes seed={seed} #{i}", Encoding.UTF8.GetString(bytes));
            }
        }

        /// <summary>Inputs aimed at each limit: nesting, expression length, numbers, repeats, sizes, emptiness.</summary>
        public static IEnumerable<(string Name, string Text)> Pathological()
        {
            const string Head = "model M {\n    input x: f32[B, 8]\n";
            yield return ("empty", "");
            yield return ("whitespace", "   \n\t\n  ");
            yield return ("only comment", "// nothing here");
            yield return ("unterminated block comment", "/* model M {");
            yield return ("unterminated model", "model M {\n input x: f32[B, 3]\n h = x -> dense(");
            yield return ("deep parens", Head + "    h = " + new string('(', 100_000) + "x" + new string(')', 100_000) + "\n    output h\n}");
            yield return ("deep brackets", Head + "    input z: f32" + new string('[', 50_000) + "\n}");
            yield return ("deep braces", new string('{', 200_000));
            yield return ("long sum", Head + "    h = x" + string.Concat(Enumerable.Repeat(" + x", 20_000)) + "\n    output h\n}");
            yield return ("long chain", Head + "    h = x" + string.Concat(Enumerable.Repeat(" -> relu", 20_000)) + "\n    output h\n}");
            yield return ("many negations", "config { a = " + new string('-', 100_000) + "1 }");
            yield return ("long product", "config { a = 2" + string.Concat(Enumerable.Repeat(" * 2", 10_000)) + " }");
            yield return ("huge integer", Head + "    h = x -> dense(" + new string('9', 5000) + ")\n    output h\n}");
            yield return ("huge real", "config { a = 1e99999 }");
            yield return ("huge dims", "model M {\n    input x: f32[B, 4611686018427387904]\n    h = x -> dense(4611686018427387904)\n    output h\n}");
            yield return ("overflow dims", "config { a = 3037000500 }\nmodel M {\n    input x: f32[B, a*a*a]\n    output x\n}");
            yield return ("repeat 10000", "block L(x) {\n    return x -> dense(8) -> relu\n}\n" + Head + "    h = x -> repeat 10000 L()\n    output h\n}");
            yield return ("nested repeats", "block L(x) {\n    return x -> repeat 1000 dense(8)\n}\n" + Head + "    h = x -> repeat 1000 L()\n    output h\n}");
            yield return ("recursive block", "block L(x) {\n    return x -> L()\n}\n" + Head + "    h = x -> L()\n    output h\n}");
            yield return ("mutual recursion", "block A(x) {\n    return x -> C()\n}\nblock C(x) {\n    return x -> A()\n}\n" + Head + "    h = x -> A()\n    output h\n}");
            yield return ("exponential blocks", BuildExponentialBlocks(40));
            yield return ("many statements", Head + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"    h{i} = x -> relu\n")) + "    output x\n}");
            yield return ("one long line", "model M { " + new string('a', 500_000) + " }");
            yield return ("over 1 MiB", "// " + new string('x', (1 << 20) + 10));
            yield return ("NUL bytes", "model M {\0 input x: f32[B, 3] }");
            yield return ("division by zero", "config { a = 1/0 }");
            yield return ("zero dims", Head + "    h = x -> dense(0)\n    output h\n}");
            yield return ("conv huge kernel", "model M {\n    input x: f32[B, 1, 4, 4]\n    h = x -> conv2d(8, kernel=1000000000)\n    output h\n}");
        }

        private static string BuildExponentialBlocks(int depth)
        {
            // Block i uses block i-1 twice: a naive expansion would create 2^depth layers.
            var sb = new StringBuilder("block L0(x) {\n    return x -> dense(4)\n}\n");
            for (int i = 1; i < depth; i++) sb.Append($"block L{i}(x) {{\n    return x -> L{i - 1}() -> L{i - 1}()\n}}\n");
            sb.Append($"model M {{\n    input x: f32[B, 4]\n    h = x -> L{depth - 1}()\n    output h\n}}\n");
            return sb.ToString();
        }

        private static string MutateOnce(string text, Random random)
        {
            if (text.Length == 0) return Tokens[random.Next(Tokens.Length)];
            int a = random.Next(text.Length);
            int b = Math.Min(text.Length, a + random.Next(1, 40));
            switch (random.Next(7))
            {
                case 0: return text.Remove(a, b - a);                                            // delete a range
                case 1: return text.Insert(a, text.Substring(a, b - a));                         // duplicate a range
                case 2: return text.Insert(a, Tokens[random.Next(Tokens.Length)]);              // insert a token
                case 3: return text.Substring(0, a);                                             // truncate
                case 4:                                                                          // flip one character
                {
                    var chars = text.ToCharArray();
                    chars[a] = (char)random.Next(0, 0x3000);
                    return new string(chars);
                }
                case 5:                                                                          // splice from another example
                {
                    string other = ExampleTexts[random.Next(ExampleTexts.Count)];
                    int c = random.Next(other.Length);
                    int d = Math.Min(other.Length, c + random.Next(1, 200));
                    return text.Insert(a, other.Substring(c, d - c));
                }
                default:                                                                         // swap two lines
                {
                    var lines = text.Split('\n');
                    int i = random.Next(lines.Length), j = random.Next(lines.Length);
                    (lines[i], lines[j]) = (lines[j], lines[i]);
                    return string.Join("\n", lines);
                }
            }
        }

        private static string FindRepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ModelDsl.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("ModelDsl.sln not found above the test output folder.");
        }

        private static IReadOnlyList<string> LoadExamples()
        {
            var files = Directory.GetFiles(Path.Combine(RepoRoot, "examples"), "*.model", SearchOption.AllDirectories);
            Array.Sort(files, StringComparer.Ordinal);
            if (files.Length < 5) throw new InvalidOperationException("expected the five example models under examples/");
            return files.Select(File.ReadAllText).ToList();
        }
    }
}
