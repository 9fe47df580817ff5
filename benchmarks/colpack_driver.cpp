// Time ColPack's ordering + coloring on Matrix Market files, for bench_coloring.py.
//
// Built by benchmarks/bench_coloring.py when libcolpack-dev is installed:
//     g++ -O2 -std=c++11 -I/usr/include/ColPack colpack_driver.cpp -lColPack
// and then driven over stdin, one command per line, so that the benchmark can
// interleave ColPack's runs with ours on the same machine:
//     load PATH            read a Matrix Market file (graphs are built lazily);
//                          prints "= ok"
//     run PROBLEM ORDER    color once; prints "= COLORS SECONDS CPU_SECONDS" (wall
//                          and process CPU time; graph construction excluded, as in
//                          ColPack's reference table)
//     quit
// Replies start with "= " because ColPack itself prints to stdout too.
// PROBLEM is one of ColPack's names: DISTANCE_ONE, DISTANCE_TWO, STAR, ACYCLIC
// (adjacency graph of A + A^T), COLUMN_PARTIAL_DISTANCE_TWO,
// ROW_PARTIAL_DISTANCE_TWO (bipartite graph), or a bicoloring variant such as
// IMPLICIT_COVERING__STAR_BICOLORING. ORDER is one of ColPack's ordering names
// (NATURAL, LARGEST_FIRST, SMALLEST_LAST, INCIDENCE_DEGREE,
// DYNAMIC_LARGEST_FIRST, DISTANCE_TWO_*). COLORS counts the colors actually
// used (ColPack's STAR count reports at least 4); for bicolorings it is the
// number of row colors plus column colors that some vertex of the cover uses.
// Errors print "= error MESSAGE" and the driver goes on reading commands.

#include "ColPackHeaders.h"

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace ColPack;

namespace {

// ColPack skips the work when asked twice for the same ordering or coloring;
// these subclasses forget the previous request so every run does the full work.
class Adjacency : public GraphColoringInterface {
  public:
    explicit Adjacency(const std::string &path)
        : GraphColoringInterface(SRC_FILE, path.c_str(), "MM") {}
    void forget() {
        ClearOrderingONLY();
        ClearColoringONLY();
    }
};

class Bipartite : public BipartiteGraphPartialColoringInterface {
  public:
    explicit Bipartite(const std::string &path)
        : BipartiteGraphPartialColoringInterface(SRC_FILE, path.c_str(), "MM") {}
    void forget() { Reset(); }
};

class Bicolor : public BipartiteGraphBicoloringInterface {
  public:
    explicit Bicolor(const std::string &path)
        : BipartiteGraphBicoloringInterface(SRC_FILE, path.c_str(), "MM") {}
    void forget() { Reset(); }
};

int distinct(const std::vector<int> &colors, int skip) {
    std::set<int> s;
    for (int c : colors) {
        if (c != skip) s.insert(c);
    }
    return static_cast<int>(s.size());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this process (user + system), as Python's time.process_time()
double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

bool is_adjacency(const std::string &p) {
    return p == "DISTANCE_ONE" || p == "DISTANCE_TWO" || p == "STAR" || p == "ACYCLIC";
}

bool is_partial(const std::string &p) {
    return p == "COLUMN_PARTIAL_DISTANCE_TWO" || p == "ROW_PARTIAL_DISTANCE_TWO";
}

}  // namespace

int main() {
    std::ios::sync_with_stdio(false);
    std::string path;
    std::unique_ptr<Adjacency> adjacency;
    std::unique_ptr<Bipartite> bipartite;
    std::unique_ptr<Bicolor> bicoloring;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        if (cmd == "quit") break;
        if (cmd == "load") {
            in >> path;
            adjacency.reset();
            bipartite.reset();
            bicoloring.reset();
            std::cout << "= ok" << std::endl;
            continue;
        }
        if (cmd != "run") {
            std::cout << "= error unknown command " << cmd << std::endl;
            continue;
        }
        std::string problem, order;
        in >> problem >> order;
        if (path.empty()) {
            std::cout << "= error no file loaded" << std::endl;
            continue;
        }
        int colors = 0;
        double secs = 0.0, cpu = 0.0;
        if (is_adjacency(problem)) {
            if (!adjacency) adjacency.reset(new Adjacency(path));
            adjacency->forget();
            double c0 = cpu_seconds();
            auto t0 = std::chrono::steady_clock::now();
            adjacency->Coloring(order, problem);
            secs = seconds_since(t0);
            cpu = cpu_seconds() - c0;
            std::vector<int> c;
            adjacency->GetVertexColors(c);
            colors = distinct(c, -1);
        } else if (is_partial(problem)) {
            if (!bipartite) bipartite.reset(new Bipartite(path));
            bipartite->forget();
            double c0 = cpu_seconds();
            auto t0 = std::chrono::steady_clock::now();
            bipartite->PartialDistanceTwoColoring(order, problem);
            secs = seconds_since(t0);
            cpu = cpu_seconds() - c0;
            colors = bipartite->GetVertexColorCount();
        } else {
            if (!bicoloring) bicoloring.reset(new Bicolor(path));
            bicoloring->forget();
            double c0 = cpu_seconds();
            auto t0 = std::chrono::steady_clock::now();
            bicoloring->Bicoloring(order, problem);
            secs = seconds_since(t0);
            cpu = cpu_seconds() - c0;
            std::vector<int> left, right;
            bicoloring->GetLeftVertexColors(left);
            bicoloring->GetRightVertexColors_Transformed(right);
            // color 0 marks a vertex outside the cover on both sides after the transform
            colors = distinct(left, 0) + distinct(right, 0);
        }
        std::cout << "= " << colors << " " << secs << " " << cpu << std::endl;
    }
    return 0;
}
