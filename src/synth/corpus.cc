#include "synth/corpus.h"

namespace enclave::synth {

std::string_view TrainingCorpus() {
  static constexpr std::string_view kText = R"CORPUS(The model reads the prompt, thinks about the question, and then writes the answer.
A language model predicts the next token from the tokens before it. When the temperature is zero,
the model always takes the most likely token, so the same prompt gives the same answer every time.
Small models are useful for tests: they load in a moment, and every number they produce can be
checked against a reference implementation. Large models are useful for benchmarks: they show how
fast the engine runs on real shapes, with real memory traffic.
The server runs on your own machines. Nothing leaves the building: no telemetry, no downloads, no
calls to the outside world. Users sign in, send their questions, and read the answers as they stream.
Administrators set quotas, read the audit log, and choose which models each team may use.
Please think step by step. First, read the whole question. Second, write down what is known. Third,
check each step before moving to the next one. Finally, state the answer in one sentence.
What is the capital of France? The capital of France is Paris. What is the largest planet? Jupiter.
There are seven days in a week, twelve months in a year, and about three hundred and sixty-five days.

深度求索是一家专注于人工智能基础模型研究的公司。我们希望模型能够理解问题，思考步骤，然后给出正确的答案。
今天天气很好，我们一起去公园散步吧。学习编程需要耐心和练习，每天写一点代码，慢慢就会进步。
模型在本地服务器上运行，数据不会离开公司。用户可以提问，模型会一步一步地思考，然后回答问题。
中国的首都是北京。一年有十二个月，一个星期有七天。请用中文回答下面的问题。

def fibonacci(n):
    """Returns the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

for i in range(10):
    print(f"fib({i}) = {fibonacci(i)}")

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  std::vector<int> values = {1, 2, 3, 4, 5};
  int sum = 0;
  for (int v : values) sum += v;
  std::printf("sum = %d\n", sum);
  return 0;
}

function greet(name) {
  const message = `Hello, ${name}!`;
  console.log(message);
  return message.length;
}

SELECT name, count(*) AS total FROM users WHERE active = 1 GROUP BY name ORDER BY total DESC;

1 + 1 = 2, 2 + 2 = 4, 12 * 12 = 144, 3.14159, 2.71828, 1024, 2048, 4096, 65536, 1000000.
In 2024 the team released version 1.5; in 2025, version 2.0 with 128 experts and 671 billion parameters.
Call 555-0100 between 09:00 and 17:30. The order #A-1234 costs $56.78 (tax 8.25%).
[1, 2, 3] {"key": "value", "id": 42, "ok": true, "items": [0.5, 0.25, 0.125]}
)CORPUS";
  return kText;
}

}  // namespace enclave::synth
