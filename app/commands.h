/* The subcommands; each returns the process exit status. */
#ifndef APP_COMMANDS_H
#define APP_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_draw(int argc, char **argv);
int cmd_lesson(int argc, char **argv);

#endif
